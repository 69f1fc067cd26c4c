/**
 * The tables of the outbox and the inbox, as every service's migration creates them. Each service declares them in
 * its own `prisma/schema.prisma` (models `OutboxMessage`, `OutboxStream`, `InboxMessage`; Prisma has no shared
 * schema files) and creates them with `npm run db:migration -- <service> events`; `tests/schema.int.test.ts`
 * checks that every service's migrated tables are these. The benchmark and this package's tests create them
 * from here.
 */

/** DDL of the outbox (`outbox`, `outbox_streams`) and the inbox (`inbox`), as Prisma's migrations write it. */
export const EVENT_TABLES_SQL = `
CREATE TABLE "outbox" (
    "seq" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "queues" TEXT[],
    "aggregate_type" TEXT NOT NULL,
    "aggregate_id" TEXT NOT NULL,
    "aggregate_version" INTEGER NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "correlation_id" TEXT NOT NULL,
    "causation_id" TEXT,
    "payload" JSONB NOT NULL,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,

    CONSTRAINT "outbox_pkey" PRIMARY KEY ("seq")
);

CREATE TABLE "outbox_streams" (
    "aggregate_type" TEXT NOT NULL,
    "aggregate_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,

    CONSTRAINT "outbox_streams_pkey" PRIMARY KEY ("aggregate_type","aggregate_id")
);

CREATE TABLE "inbox" (
    "consumer" TEXT NOT NULL,
    "message_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inbox_pkey" PRIMARY KEY ("consumer","message_id")
);

CREATE UNIQUE INDEX "outbox_id_key" ON "outbox"("id");
CREATE INDEX "outbox_published_at_seq_idx" ON "outbox"("published_at", "seq");
CREATE INDEX "outbox_aggregate_type_aggregate_id_seq_idx" ON "outbox"("aggregate_type", "aggregate_id", "seq");
CREATE INDEX "inbox_processed_at_idx" ON "inbox"("processed_at");
`;

/** The Prisma models of the tables above: paste them into a service's schema.prisma (the schema test compares). */
export const EVENT_PRISMA_MODELS = `
/// Transactional outbox (@ecom/events): a row per message, written in the transaction of the state change it
/// announces; the worker's relay sends it to BullMQ and sets published_at. Pruned after the retention period.
model OutboxMessage {
  seq              BigInt    @id @default(autoincrement())
  id               String    @unique @db.Uuid
  type             String
  queues           String[]
  aggregateType    String    @map("aggregate_type")
  aggregateId      String    @map("aggregate_id")
  aggregateVersion Int       @map("aggregate_version")
  occurredAt       DateTime  @map("occurred_at") @db.Timestamptz(3)
  correlationId    String    @map("correlation_id")
  causationId      String?   @map("causation_id")
  payload          Json
  publishedAt      DateTime? @map("published_at") @db.Timestamptz(3)
  attempts         Int       @default(0)
  lastError        String?   @map("last_error")

  @@index([publishedAt, seq])
  @@index([aggregateType, aggregateId, seq])
  @@map("outbox")
}

/// The last version of each aggregate's message stream (@ecom/events): the outbox takes the next one under its row lock.
model OutboxStream {
  aggregateType String @map("aggregate_type")
  aggregateId   String @map("aggregate_id")
  version       Int

  @@id([aggregateType, aggregateId])
  @@map("outbox_streams")
}

/// Inbox (@ecom/events): the messages this service's consumers applied, recorded in the transaction of the effect,
/// so a redelivered message has no second effect.
model InboxMessage {
  consumer    String
  messageId   String   @map("message_id") @db.Uuid
  type        String
  processedAt DateTime @default(now()) @map("processed_at") @db.Timestamptz(3)

  @@id([consumer, messageId])
  @@index([processedAt])
  @@map("inbox")
}
`;

-- CreateEnum
CREATE TYPE "Channel" AS ENUM ('EMAIL', 'SMS', 'PUSH');

-- CreateTable
CREATE TABLE "notifications" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "channel" "Channel" NOT NULL,
    "subject" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "dedupe_key" TEXT NOT NULL,
    "read_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notifications_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "notifications_dedupe_key_key" ON "notifications"("dedupe_key");

-- CreateIndex
CREATE INDEX "notifications_user_id_created_at_id_idx" ON "notifications"("user_id", "created_at" DESC, "id" DESC);

-- Length rules the service enforces, kept by the database too.
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_subject_length" CHECK (char_length("subject") BETWEEN 1 AND 200);
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_body_length" CHECK (char_length("body") BETWEEN 1 AND 10000);
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_dedupe_key_length" CHECK (char_length("dedupe_key") BETWEEN 1 AND 255);

-- CreateTable
CREATE TABLE "stock_items" (
    "product_id" UUID NOT NULL,
    "on_hand" INTEGER NOT NULL DEFAULT 0,
    "reserved" INTEGER NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stock_items_pkey" PRIMARY KEY ("product_id")
);

-- Invariants of the reservation model, enforced by the database (Prisma does not model CHECK).
ALTER TABLE "stock_items" ADD CONSTRAINT "stock_items_on_hand_non_negative" CHECK ("on_hand" >= 0);
ALTER TABLE "stock_items" ADD CONSTRAINT "stock_items_reserved_non_negative" CHECK ("reserved" >= 0);
ALTER TABLE "stock_items" ADD CONSTRAINT "stock_items_reserved_within_on_hand" CHECK ("reserved" <= "on_hand");

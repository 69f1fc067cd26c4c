-- CreateTable
CREATE TABLE "charge_voids" (
    "idempotency_key" TEXT NOT NULL,
    "order_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "charge_voids_pkey" PRIMARY KEY ("idempotency_key")
);

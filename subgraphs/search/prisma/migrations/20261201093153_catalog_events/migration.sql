-- AlterTable
ALTER TABLE "search_documents" ADD COLUMN     "product_version" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "search_stock" (
    "product_id" UUID NOT NULL,
    "in_stock" BOOLEAN NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "search_stock_pkey" PRIMARY KEY ("product_id")
);

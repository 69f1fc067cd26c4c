-- CreateTable
CREATE TABLE "search_documents" (
    "product_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "category_id" UUID NOT NULL,
    "price_amount" INTEGER NOT NULL,
    "currency" TEXT NOT NULL,
    "in_stock" BOOLEAN NOT NULL DEFAULT false,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- Written by Postgres only (Prisma cannot express generated columns, so schema.prisma marks it Unsupported).
    -- Weight A for the name and B for the description, so that ts_rank_cd ranks name matches higher.
    -- The 'english' configuration is spelled out: to_tsvector(regconfig, text) is immutable, as a generated
    -- column requires, and it must match the configuration the query uses (websearch_to_tsquery('english', ...)).
    "search_vector" tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, "name"), 'A') ||
        setweight(to_tsvector('english'::regconfig, "description"), 'B')
    ) STORED,

    CONSTRAINT "search_documents_pkey" PRIMARY KEY ("product_id")
);

-- CreateIndex
CREATE INDEX "search_documents_search_vector_idx" ON "search_documents" USING GIN ("search_vector");

-- CreateIndex
CREATE INDEX "search_documents_category_id_idx" ON "search_documents"("category_id");

-- CreateTable
CREATE TABLE "sagas" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "current" INTEGER NOT NULL DEFAULT 0,
    "input" JSONB NOT NULL,
    "steps" JSONB NOT NULL,
    "log" JSONB NOT NULL DEFAULT '[]',
    "reason" TEXT,
    "deadline_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "sagas_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sagas_status_deadline_at_idx" ON "sagas"("status", "deadline_at");

-- CreateIndex
CREATE INDEX "sagas_name_status_created_at_idx" ON "sagas"("name", "status", "created_at");

import { definePrismaServiceConfig } from "@ecom/db/prisma-config";

export default definePrismaServiceConfig();

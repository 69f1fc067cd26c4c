export { setupTestRun, teardownTestRun, runDatabaseUrl, newRunPrefix, dropStaleRuns, deleteRedisKeys, ROOT_DIR } from "./run.ts";
export type { TestRunInfo, SetupTestRunOptions } from "./run.ts";
export { createTestDatabase } from "./database.ts";
export type { TestDatabase } from "./database.ts";
export { startProcess } from "./process.ts";
export type { StartProcessOptions, RunningProcess } from "./process.ts";
export { getFreePort } from "./ports.ts";
export { defineSubgraphContractSuite, compareSubgraphTypes, typeMembers, topLevelFields, postGraphQL } from "./contract.ts";
export type { SubgraphContractSuiteOptions, ContractEntity, StartedSubgraph, GraphQLHttpResult } from "./contract.ts";

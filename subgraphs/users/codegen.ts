import { subgraphCodegenConfig } from "../../scripts/codegen-config.ts";

export default subgraphCodegenConfig({
  mappers: { User: "../datasources/users.ts#UserRecord" },
});

import { subgraphCodegenConfig } from "../../scripts/codegen-config.ts";

export default subgraphCodegenConfig({
  mappers: { Product: "../datasources/search-index.ts#ProductReference" },
});

import { subgraphCodegenConfig } from "../../scripts/codegen-config.ts";

export default subgraphCodegenConfig({
  mappers: {
    Product: "../datasources/catalog.ts#ProductRecord",
    Category: "../datasources/catalog.ts#CategoryRecord",
    ProductConnection: "../domain/pagination.ts#ProductConnectionRecord",
  },
});

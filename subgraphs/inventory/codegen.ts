import { subgraphCodegenConfig } from "../../scripts/codegen-config.ts";

export default subgraphCodegenConfig({
  mappers: { Product: "../datasources/stock.ts#StockRecord" },
});

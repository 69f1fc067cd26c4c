import { subgraphCodegenConfig } from "../../scripts/codegen-config.ts";

export default subgraphCodegenConfig({
  mappers: {
    Payment: "../datasources/payments.ts#PaymentRecord",
    Order: "../datasources/payments.ts#OrderRef",
  },
});

import { subgraphCodegenConfig } from "../../scripts/codegen-config.ts";

export default subgraphCodegenConfig({
  mappers: {
    Order: "../datasources/orders.ts#OrderRecord",
    OrderItem: "../datasources/orders.ts#OrderItemRecord",
    OrderEvent: "../datasources/orders.ts#OrderEventRecord",
    OrderConnection: "../resolvers/models.ts#OrderConnectionParent",
    User: "../resolvers/models.ts#UserRef",
    Product: "../resolvers/models.ts#ProductRef",
  },
});

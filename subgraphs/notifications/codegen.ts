import { subgraphCodegenConfig } from "../../scripts/codegen-config.ts";

export default subgraphCodegenConfig({
  mappers: {
    Notification: "../datasources/notifications.ts#NotificationRecord",
    User: "../datasources/notifications.ts#UserRef",
  },
});

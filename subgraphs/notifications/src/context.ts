import type { SubgraphContext } from "@ecom/service";
import type { Loaders } from "./datasources/notifications.ts";

/** The context every notifications resolver receives. */
export type Context = SubgraphContext<Loaders>;

import type { SubgraphContext } from "@ecom/service";
import type { Loaders } from "./datasources/orders.ts";

/** The context every orders resolver receives. */
export type Context = SubgraphContext<Loaders>;

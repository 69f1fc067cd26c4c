import type { SubgraphContext } from "@ecom/service";
import type { Loaders } from "./datasources/payments.ts";

/** The context every payments resolver receives. */
export type Context = SubgraphContext<Loaders>;

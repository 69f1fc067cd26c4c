import type { SubgraphContext } from "@ecom/service";
import type { Loaders } from "./datasources/stock.ts";

/** The context every inventory resolver receives. */
export type Context = SubgraphContext<Loaders>;

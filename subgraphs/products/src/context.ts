import type { SubgraphContext } from "@ecom/service";
import type { Loaders } from "./datasources/catalog.ts";

/** The context every products resolver receives. */
export type Context = SubgraphContext<Loaders>;

import type { SubgraphContext } from "@ecom/service";
import type { Loaders } from "./datasources/search-index.ts";

/** The context every search resolver receives. */
export type Context = SubgraphContext<Loaders>;

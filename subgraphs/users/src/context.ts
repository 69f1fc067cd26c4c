import type { SubgraphContext } from "@ecom/service";
import type { Loaders } from "./datasources/users.ts";

/** The context every users resolver receives. */
export type Context = SubgraphContext<Loaders>;

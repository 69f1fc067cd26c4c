/**
 * `npm run show -- communication`: the two ways our services talk.
 *
 * 1. Synchronous, through the graph: one client request's query plan as the gateway made it (which subgraphs, in
 *    what order), asked of the gateway itself with `Apollo-Query-Plan-Experimental` (development and test only).
 * 2. Asynchronous, through events: a product created with a correlation id of our own; its `product.created.v1`
 *    followed from the products outbox row (written in the mutation's transaction) through the relay into one
 *    BullMQ job per subscribing queue, to each consumer's inbox; then a restock under the same correlation id, whose
 *    `stock.changed.v1` reaches search's read model. Every log line of all this carries the correlation id.
 */
import { randomBytes } from "node:crypto";
import { databaseUrlFor } from "@ecom/config";
import { parsePgUrl } from "@ecom/db";
import { Queue } from "bullmq";
import pg from "pg";
import { ShowFailure, describeErrors, type Show } from "./lib.ts";

/** A node of the gateway's query plan (`Apollo-Query-Plan-Experimental-Format: internal`). */
interface PlanNode {
  kind: string;
  serviceName?: string;
  path?: string[];
  node?: PlanNode;
  nodes?: PlanNode[];
  operation?: string;
}

/** The plan as an indented tree of fetches, one line each: `Fetch products  {products{...}}`. */
export function describePlan(node: PlanNode | undefined, depth = 0): string[] {
  if (!node) return [];
  const pad = "  ".repeat(depth);
  switch (node.kind) {
    case "QueryPlan":
      return describePlan(node.node, depth);
    case "Sequence":
    case "Parallel":
      return [`${pad}${node.kind} {`, ...(node.nodes ?? []).flatMap((n) => describePlan(n, depth + 1)), `${pad}}`];
    case "Flatten":
      return [`${pad}Flatten(${(node.path ?? []).join(".")}) {`, ...describePlan(node.node, depth + 1), `${pad}}`];
    case "Fetch": {
      const op = (node.operation ?? "").replace(/\s+/g, " ");
      return [`${pad}Fetch(${node.serviceName}) ${op.length > 90 ? `${op.slice(0, 87)}...` : op}`];
    }
    default:
      return [`${pad}${node.kind}`];
  }
}

/** The subgraphs a plan calls, in plan order (parallel branches in their listed order). */
export function fetchOrder(node: PlanNode | undefined): string[] {
  if (!node) return [];
  if (node.kind === "Fetch") return node.serviceName ? [node.serviceName] : [];
  return [...fetchOrder(node.node), ...(node.nodes ?? []).flatMap((n) => fetchOrder(n))];
}

interface OutboxRow {
  id: string;
  type: string;
  queues: string[];
  occurred_at: Date;
  published_at: Date | null;
  causation_id: string | null;
}

const clock = (d: Date) => d.toISOString().slice(11, 23);

export async function showCommunication(show: Show): Promise<void> {
  await showQueryPlan(show);
  await showEventPath(show);
}

async function showQueryPlan(show: Show): Promise<void> {
  show.step("synchronous: one client request, planned by the gateway across subgraphs");
  const token = await show.login("alice@example.com");
  const query = "query MyOrders { me { name orders(first: 2) { edges { node { status items { quantity product { name stock } } } } } } }";
  show.say(`alice asks: ${query}`);
  const answer = await show.gql(query, {
    token,
    headers: { "apollo-query-plan-experimental": "1", "apollo-query-plan-experimental-format": "internal" },
  });
  if (answer.errors) throw new ShowFailure(`the request failed: ${describeErrors(answer)}`);
  const plan = answer.extensions?.["__queryPlanExperimental"] as PlanNode | undefined;
  if (!plan || typeof plan !== "object") {
    throw new ShowFailure("the gateway did not return its query plan (it only does outside NODE_ENV=production)");
  }
  show.block(describePlan(plan).join("\n"));
  const order = fetchOrder(plan);
  show.say(`answered in ${Math.round(answer.ms)} ms by ${order.length} subgraph fetches, in this order: ${order.join(" -> ")}`);
  for (const expected of ["users", "orders", "products", "inventory"]) {
    if (!order.includes(expected)) throw new ShowFailure(`the plan has no fetch from ${expected}: ${order.join(", ")}`);
  }
}

async function showEventPath(show: Show): Promise<void> {
  show.step("asynchronous: one event, outbox -> relay -> queue -> consumers");
  const correlationId = `show-${randomBytes(6).toString("hex")}`;
  const admin = await show.login("admin@example.com");
  const headers = { "x-correlation-id": correlationId };
  const categories = await show.gql<{ categories: Array<{ id: string; name: string }> }>("{ categories { id name } }");
  const category = categories.data?.categories[0];
  if (!category) throw new ShowFailure(`no category to create a product in: ${describeErrors(categories)}`);
  const sku = `SHOW-${correlationId.slice(5).toUpperCase()}`;
  const name = `Guide lantern ${correlationId.slice(5)}`;
  const created = await show.gql<{ createProduct: { id: string } }>(
    "mutation Create($input: CreateProductInput!) { createProduct(input: $input) { id } }",
    {
      token: admin,
      headers,
      variables: {
        input: { sku, name, description: "Created by npm run show -- communication", priceAmount: 1999, categoryId: category.id },
      },
    },
  );
  const productId = created.data?.createProduct.id;
  if (!productId) throw new ShowFailure(`createProduct failed: ${describeErrors(created)}`);
  show.say(`createProduct "${name}" (admin) with x-correlation-id: ${correlationId} -> product ${productId}`);

  const pgAdmin = parsePgUrl(show.env.postgresAdminUrl);
  const dbOf = (service: string) => databaseUrlFor(service, { prefix: show.env.databasePrefix, host: pgAdmin.host, port: pgAdmin.port });
  const clients = new Map<string, pg.Client>();
  const db = async (service: string) => {
    let client = clients.get(service);
    if (!client) {
      client = new pg.Client({ connectionString: dbOf(service), connectionTimeoutMillis: 5000 });
      await client.connect();
      clients.set(service, client);
    }
    return client;
  };
  show.defer(async () => {
    await Promise.all([...clients.values()].map((c) => c.end().catch(() => {})));
  });
  const connection = { url: show.env.redisUrl, maxRetriesPerRequest: 1 };
  const queues = new Map<string, Queue>();
  const queueOf = (name: string) => {
    let queue = queues.get(name);
    if (!queue) {
      // npm start namespaces the queues with its DATABASE_PREFIX (QUEUE_PREFIX of the workers).
      queue = new Queue(name, { connection, prefix: show.env.databasePrefix });
      queues.set(name, queue);
    }
    return queue;
  };
  show.defer(async () => {
    await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
  });

  /** Follows one event of `producer` with our correlation id through relay, queues and inboxes. */
  const follow = async (producer: string, type: string): Promise<OutboxRow> => {
    const row = await show.waitFor(`a ${type} row in ${producer}'s outbox`, async () => {
      const { rows } = await (
        await db(producer)
      ).query<OutboxRow>(
        "SELECT id, type, queues, occurred_at, published_at, causation_id FROM outbox WHERE correlation_id = $1 AND type = $2",
        [correlationId, type],
      );
      return rows[0];
    });
    show.say(
      `${producer} outbox: ${type} ${row.id} written at ${clock(row.occurred_at)} in the mutation's transaction, for ${row.queues.join(", ")}`,
    );
    const published = await show.waitFor(`the relay publishing ${row.id}`, async () => {
      const { rows } = await (
        await db(producer)
      ).query<{ published_at: Date | null }>("SELECT published_at FROM outbox WHERE id = $1", [row.id]);
      return rows[0]?.published_at ?? undefined;
    });
    show.say(`${producer}-worker relay: sent to BullMQ at ${clock(published)} (+${published.getTime() - row.occurred_at.getTime()} ms)`);
    for (const queueName of row.queues) {
      const job = await show.waitFor(`the job of ${row.id} in ${queueName} completing`, async () => {
        const j = await queueOf(queueName).getJob(row.id);
        if (!j) return undefined;
        return (await j.getState()) === "completed" ? j : undefined;
      });
      const consumer = queueName.replace(/^events\./, "");
      const inbox = await show.waitFor(`${row.id} in ${consumer}'s inbox`, async () => {
        const { rows } = await (
          await db(consumer)
        ).query<{ consumer: string; processed_at: Date }>("SELECT consumer, processed_at FROM inbox WHERE message_id = $1", [row.id]);
        return rows[0];
      });
      const data = job.data as { correlationId?: string };
      if (data.correlationId !== correlationId)
        throw new ShowFailure(`the job in ${queueName} lost the correlation id (${String(data.correlationId)})`);
      show.say(
        `${queueName}: job ${job.id} completed after ${job.attemptsMade} attempt(s); ${consumer} inbox (${inbox.consumer}) applied at ${clock(inbox.processed_at)} (+${inbox.processed_at.getTime() - row.occurred_at.getTime()} ms), correlationId ${data.correlationId}`,
      );
    }
    return row;
  };

  const createdEvent = await follow("products", "product.created.v1");
  for (const expected of ["events.inventory", "events.search"]) {
    if (!createdEvent.queues.includes(expected)) throw new ShowFailure(`product.created.v1 did not go to ${expected}`);
  }

  // Inventory knows the product only from the event: a restock before it was consumed would be NOT_FOUND.
  const restocked = await show.gql<{ restock: { stock: number } }>(
    "mutation Restock($id: ID!) { restock(productId: $id, quantity: 5) { stock } }",
    { token: admin, headers, variables: { id: productId } },
  );
  if (restocked.errors) throw new ShowFailure(`restock failed: ${describeErrors(restocked)}`);
  show.say(`restock 5 under the same correlation id -> inventory says stock ${restocked.data?.restock.stock}`);
  await follow("inventory", "stock.changed.v1");
  const searched = await show.waitFor("search's read model showing the new stock", async () => {
    const answer = await show.gql<{ search: { edges: Array<{ node: { id: string; stock: number } }> } }>(
      "query Find($q: String!) { search(query: $q, first: 5) { edges { node { id stock } } } }",
      { variables: { q: name } },
    );
    return answer.data?.search.edges.some((e) => e.node.id === productId) ? answer : undefined;
  });
  const hit = searched.data?.search.edges.find((e) => e.node.id === productId);
  show.say(`search("${name}") finds it through search's own read model; stock ${hit?.node.stock} (from inventory, through the graph)`);
  show.say(`in npm start's output, inventory-worker's and search-worker's "message applied" lines carry correlationId "${correlationId}"`);
  show.say("(with LOG_LEVEL=debug, so does every process's log line of each GraphQL operation these requests made)");
}

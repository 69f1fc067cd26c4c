/**
 * `npm run config` inside a show: the same CLI (packages/live-config `runConfigCli`) on the same store, run
 * in-process so that the show can time what the gateway does in the second after a change.
 */
import { createLiveConfigStore, getPath, platformConfigSchema, runConfigCli } from "@ecom/live-config";
import { ShowFailure, connectRedis, type Show } from "./lib.ts";

/** The live configuration of the platform, changed as `npm run config` changes it. */
export class LiveConfig {
  private constructor(
    private readonly show: Show,
    private readonly store: ReturnType<typeof createLiveConfigStore<typeof platformConfigSchema>>,
  ) {}

  static async open(show: Show): Promise<LiveConfig> {
    const redis = await connectRedis(show);
    show.defer(() => redis.disconnect());
    return new LiveConfig(show, createLiveConfigStore({ redis, prefix: show.env.controlPlanePrefix, schema: platformConfigSchema }));
  }

  /** Runs `npm run config -- <args>` and prints the command and its output; fails when the CLI does. */
  async run(...args: string[]): Promise<void> {
    // A long value (a whole rule list) is abbreviated on screen; the CLI gets it whole.
    const quoted = args
      .map((a) => (/^[\w.:=-]+$/.test(a) ? a : `'${a.length > 100 ? `${a.slice(0, 60)}...${a.slice(-30)}` : a}'`))
      .join(" ");
    let text = "";
    const sink = { write: (chunk: string) => ((text += chunk), true) };
    const code = await runConfigCli([...args, "--author", "npm-run-show"], { store: this.store, out: sink, err: sink });
    this.show.say(`$ npm run config -- ${quoted}`);
    this.show.block(
      text
        .split("\n")
        .map((line) => (line.length > 220 ? `${line.slice(0, 120)}...${line.slice(-80)}` : line))
        .join("\n"),
    );
    if (code !== 0) throw new ShowFailure(`npm run config -- ${quoted} exited ${code}`);
  }

  /** The value explicitly set at `path` (undefined when the default is in force). */
  async own(path: string): Promise<unknown> {
    return getPath((await this.store.current()).doc, path);
  }

  /** The effective value at `path` (defaults applied), as `npm run config -- get` shows it. */
  async effective(path: string): Promise<unknown> {
    return getPath(this.store.effective((await this.store.current()).doc), path);
  }

  /** The version in force. */
  async version(): Promise<number> {
    return (await this.store.current()).version;
  }
}

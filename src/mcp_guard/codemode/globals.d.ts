// globals.d.ts: what a Code Mode program can use besides the ECMAScript built-ins (TypeScript lib "es2023")
// and the server globals declared in servers/*.d.ts. The program is the body of an async function:
// top-level `await` and `return` work; there are no modules, no Node or browser APIs.

/** Thrown by a server method when the call is refused, fails, or would go over a limit. */
declare class ToolError extends Error {
  readonly name: "ToolError";
  /** "denied": the gateway refused the call (permissions, rate limit, budget; retrying will not help);
   *  "upstream": the tool or its server failed; "limit": a per-execution limit was reached. */
  readonly kind: "denied" | "upstream" | "limit";
  /** The MCP server and tool of the call, as in the files' `method → tool` tables; for `resources` and
   *  `prompts` calls, server is "" and tool the operation ("resources.read", "prompts.get", ...). */
  readonly server: string;
  readonly tool: string;
  /** For kind "limit": the setting reached ("max_tool_calls", "max_tool_argument_bytes",
   *  "max_tool_result_bytes" or "max_tool_transfer_bytes"). */
  readonly limit?: string;
}

/** Output comes back with the result, up to a size limit (objects are shown as JSON). */
declare const console: {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  debug(...data: unknown[]): void;
};

/** Runs `callback` after `delay` milliseconds (at most a limited number pending at once). */
declare function setTimeout<A extends unknown[]>(callback: (...args: A) => void, delay?: number, ...args: A): number;
declare function clearTimeout(id: number | undefined): void;

/** One page of a listing; pass `nextCursor` back for the next page (absent on the last one). */
interface Page {
  nextCursor?: string;
}

/** The resources of every server that this request may read, under gateway URIs
 *  (`mcp-guard://<server>/<the server's URI>`). Reads count as tool calls against the per-execution
 *  limits, and are checked, rate limited, priced and audited like them: a resource this request may not
 *  read rejects with a ToolError of kind "denied". */
declare const resources: {
  list(cursor?: string): Promise<Page & {
    resources: { uri: string; name: string; title?: string; description?: string; mimeType?: string }[];
  }>;
  templates(cursor?: string): Promise<Page & {
    resourceTemplates: { uriTemplate: string; name: string; description?: string; mimeType?: string }[];
  }>;
  /** `uri`: a gateway URI from `list()`, or a template's with its variables filled in. Text contents have
   *  `text`, binary ones base64 `blob`. */
  read(uri: string): Promise<{ contents: { uri: string; mimeType?: string; text?: string; blob?: string }[] }>;
};

/** The prompts of every server that this request may get, named `server__prompt`; governed like `resources`. */
declare const prompts: {
  list(cursor?: string): Promise<Page & {
    prompts: { name: string; description?: string; arguments?: { name: string; description?: string; required?: boolean }[] }[];
  }>;
  /** The prompt's messages with `args` filled in (every value a string). */
  get(name: string, args?: Record<string, string>): Promise<{
    description?: string;
    messages: { role: "user" | "assistant"; content: { type: string; text?: string; [key: string]: unknown } }[];
  }>;
};

// globals.d.ts: what a Code Mode program can use besides the ECMAScript built-ins (TypeScript lib "es2023")
// and the server globals declared in servers/*.d.ts. The program is the body of an async function:
// top-level `await` and `return` work; there are no modules, no Node or browser APIs.

/** Thrown by a server method when the call is refused, fails, or would go over a limit. */
declare class ToolError extends Error {
  readonly name: "ToolError";
  /** "denied": the gateway refused the call (permissions, rate limit, budget; retrying will not help);
   *  "upstream": the tool or its server failed; "limit": a per-execution limit was reached. */
  readonly kind: "denied" | "upstream" | "limit";
  /** The MCP server and tool of the call, as in the files' `method → tool` tables. */
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

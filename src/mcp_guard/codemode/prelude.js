// mcp-guard Code Mode runtime: evaluated in every fresh V8 context (in a worker process) before the program.
//
// It (1) removes what could escape the heap limit or generate code from strings, (2) installs console
// capture and timers, and (3) returns the host channel the worker's Python driver uses, one function
// `channel(op, arg)`: "configure" (the run's servers and limits: one global per server), "start" (the
// program; returns the first report), "pump" (returns a report) and "deliver" (answers). The channel is
// the value of this script, never a global, so the program cannot reach it. The worker evaluates this
// while it waits for a run, so a run starts with "configure". JavaScript never calls into Python: every
// tool call and timer is queued as a request that the driver collects with "pump" and answers with
// "deliver".
//
// The report `pump()` returns is a string assembled from primitive strings and numbers only, with
// functions captured before the program runs: no object the program can reach is serialised, and no
// hook the program can install (`toJSON`, getters, patched prototypes, iterators) runs while it is built.
//
// "configure" takes a JSON object:
//   {servers: {binding: {server, methods: {method: tool}}}, maxToolCalls, maxArgumentChars, maxLogChars,
//    maxResultChars, maxTimers}
(function () {
  "use strict";
  let config = null;
  const g = globalThis;
  const { stringify, parse } = JSON;
  const { create, freeze, keys, defineProperty, getOwnPropertyNames, getPrototypeOf } = Object;
  const hasOwn = Object.hasOwn;
  const isArray = Array.isArray;
  const P = Promise;
  const then = P.prototype.then;
  const reflectApply = Reflect.apply;
  const Err = Error, TypeErr = TypeError, RangeErr = RangeError;
  const toStr = String;
  const strSlice = String.prototype.slice;
  const strIndexOf = String.prototype.indexOf;
  const regexpTest = RegExp.prototype.test;
  const setHas = Set.prototype.has;
  const Proxy_ = Proxy;
  // A JSON string literal for a primitive string: JSON.stringify looks up no `toJSON` on primitives.
  const quote = (text) => stringify(toStr(text));

  // --- 1. removals --------------------------------------------------------------------------
  // Buffers are allocated outside the V8 heap, so the heap limit does not see them. Matched by name
  // (reading every global would instantiate the lazy ones, such as Intl and Temporal, for nothing).
  const removed = /^(?:(?:Big)?(?:Int|Uint|Float)\d+(?:Clamped)?Array|ArrayBuffer|SharedArrayBuffer|DataView|Atomics|WebAssembly|FinalizationRegistry)$/;
  for (const name of getOwnPropertyNames(g)) {
    if (reflectApply(regexpTest, removed, [name])) delete g[name];
  }
  // The engine's own timer helpers use SharedArrayBuffer: replace them (they are non-configurable vars).
  g.__timer_manager = undefined;

  // Code from strings: eval, Function and the constructors reachable from any function's prototype.
  function refuseCodeGeneration() {
    throw new Err("code generation from strings is disabled in the sandbox");
  }
  const FunctionProto = Function.prototype;
  for (const fn of [function () {}, async function () {}, function* () {}, async function* () {}]) {
    defineProperty(getPrototypeOf(fn), "constructor", { value: refuseCodeGeneration, writable: false, configurable: false });
  }
  defineProperty(refuseCodeGeneration, "prototype", { value: FunctionProto, writable: false, configurable: false });
  defineProperty(g, "Function", { value: refuseCodeGeneration, writable: false, configurable: false });
  defineProperty(g, "eval", { value: refuseCodeGeneration, writable: false, configurable: false });
  // What a builtin may still do on absurd lengths (abort V8, loop uninterruptibly, allocate outside the
  // heap) is contained by the worker process around this context, not guarded here.

  // --- 2. console ---------------------------------------------------------------------------
  // Runtime state lives in objects without a prototype: a setter the program defines on
  // Object.prototype or Array.prototype cannot intercept what the runtime stores.
  const logs = create(null);
  let logCount = 0, logChars = 0, logDropped = 0;

  function describeValue(value) {
    try {
      if (typeof value === "string") return value;
      if (value instanceof Err) return `${toStr(value.name)}: ${toStr(value.message)}`;
      if (typeof value === "function") return "[function]";
      if (typeof value === "bigint" || typeof value === "symbol" || value === undefined) return toStr(value);
      const text = stringify(value);
      return text === undefined ? toStr(value) : toStr(text);
    } catch (error) {
      return "[unprintable value]";
    }
  }

  function log(level, args) {
    let line = "";
    for (let i = 0; i < args.length; i++) line += (i ? " " : "") + describeValue(args[i]);
    if (level !== "log") line = "[" + level + "] " + line;
    if (logChars + line.length > config.maxLogChars) {
      const room = config.maxLogChars - logChars;
      if (room > 0) { logs[logCount++] = reflectApply(strSlice, line, [0, room]); logChars += room; }
      logDropped += 1;
      return;
    }
    logs[logCount++] = line;
    logChars += line.length;
  }

  const consoleObject = create(null);
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    consoleObject[level] = (...args) => log(level, args);
  }
  defineProperty(g, "console", { value: freeze(consoleObject), writable: false, configurable: false });

  // --- 3. host channel ------------------------------------------------------------------------
  let nextId = 1;
  const queue = create(null);  // id → the request, already serialised
  let queueStart = 1;
  const pending = create(null);
  let toolCalls = 0, timers = 0;
  let outcome = null;  // the program's end, already serialised

  function request(text, context) {
    const id = nextId++;
    queue[id] = "[" + id + "," + text + "]";
    return new P((resolve, reject) => { pending[id] = { resolve, reject, context }; });
  }

  class ToolError extends Err {
    constructor(message, kind, server, tool, limit) {
      super(message);
      this.name = "ToolError";
      this.kind = kind;
      this.server = server;
      this.tool = tool;
      if (limit !== undefined) this.limit = limit;
    }
  }
  defineProperty(g, "ToolError", { value: ToolError, writable: false, configurable: false });

  function toolError(server, tool, kind, message, site, limit) {
    const text = (server === "" ? tool : server + "/" + tool) + ": " + message;
    const err = new ToolError(text, kind, server, tool, limit);
    const stack = site.stack;  // captured when the program made the call: points at its line
    const firstFrame = typeof stack === "string" ? reflectApply(strIndexOf, stack, ["\n"]) : -1;
    err.stack = "ToolError: " + text + (firstFrame >= 0 ? reflectApply(strSlice, stack, [firstFrame]) : "");
    return err;
  }

  function toolFunction(server, tool, label) {
    return function (args) {
      if (args === undefined) args = {};
      if (args === null || typeof args !== "object" || isArray(args)) {
        throw new TypeErr(`${label}() takes one object argument with the tool's input, got ${args === null ? "null" : isArray(args) ? "an array" : typeof args}`);
      }
      let json;
      try {
        json = toStr(stringify(args));
      } catch (error) {
        throw new TypeErr(`${label}(): the arguments are not JSON-serialisable (${describeValue(error)})`);
      }
      const site = new Err();  // the stack is captured now, formatted only if the call fails
      if (toolCalls >= config.maxToolCalls) {
        throw toolError(server, tool, "limit", `tool call limit reached: at most ${config.maxToolCalls} tool calls per execution (code_mode.max_tool_calls)`, site, "max_tool_calls");
      }
      if (json.length > config.maxArgumentChars) {
        throw toolError(server, tool, "limit", `the arguments are ${json.length} characters of JSON, over the ${config.maxArgumentChars}-byte limit (code_mode.max_tool_argument_bytes)`, site, "max_tool_argument_bytes");
      }
      toolCalls += 1;
      return request('"tool",' + quote(server) + "," + quote(tool) + "," + quote(json), { server, tool, site });
    };
  }

  // The gateway's own operations (`resources`, `prompts`): queued like tool calls on server "" (no
  // configured server has that name), counted against the same limit; the gateway checks the operation.
  function gatewayCall(operation, args) {
    const site = new Err();
    const json = toStr(stringify(args));
    if (toolCalls >= config.maxToolCalls) {
      throw toolError("", operation, "limit", `tool call limit reached: at most ${config.maxToolCalls} tool calls per execution (code_mode.max_tool_calls)`, site, "max_tool_calls");
    }
    if (json.length > config.maxArgumentChars) {
      throw toolError("", operation, "limit", `the arguments are ${json.length} characters of JSON, over the ${config.maxArgumentChars}-byte limit (code_mode.max_tool_argument_bytes)`, site, "max_tool_argument_bytes");
    }
    toolCalls += 1;
    return request('"tool","",' + quote(operation) + "," + quote(json), { server: "", tool: operation, site });
  }
  const text = (value, what) => {
    if (typeof value !== "string") throw new TypeErr(`${what} must be a string, got ${value === null ? "null" : typeof value}`);
    return value;
  };
  const cursorOf = (cursor, what) => (cursor === undefined || cursor === null ? {} : { cursor: text(cursor, what) });
  function stringMap(value, what) {
    const copy = create(null);
    if (value === undefined || value === null) return copy;
    if (typeof value !== "object" || isArray(value)) throw new TypeErr(`${what} must be an object of strings`);
    for (const key of keys(value)) copy[key] = text(value[key], `${what}.${key}`);
    return copy;
  }
  defineProperty(g, "resources", { value: freeze({
    list: (cursor) => gatewayCall("resources.list", cursorOf(cursor, "resources.list(cursor)")),
    templates: (cursor) => gatewayCall("resources.templates", cursorOf(cursor, "resources.templates(cursor)")),
    read: (uri) => gatewayCall("resources.read", { uri: text(uri, "resources.read(uri)") }),
  }), writable: false, configurable: false });
  defineProperty(g, "prompts", { value: freeze({
    list: (cursor) => gatewayCall("prompts.list", cursorOf(cursor, "prompts.list(cursor)")),
    get: (name, args) => gatewayCall("prompts.get", { name: text(name, "prompts.get(name)"), arguments: stringMap(args, "prompts.get(name, arguments)") }),
  }), writable: false, configurable: false });

  // Property reads that probing code (await, JSON, String) does on any object must not throw.
  const passThrough = new Set(["then", "toJSON", "constructor", "toString", "valueOf", "inspect", "nodeType",
                               "$$typeof", "asymmetricMatch", "prototype", "__proto__"]);

  function serverObject(binding, server, methods) {
    const target = create(null);
    const aliases = create(null);
    const names = keys(methods);
    for (const method of names) {
      target[method] = toolFunction(server, methods[method], `${binding}.${method}`);
    }
    for (const method of names) {
      const tool = methods[method];
      if (!hasOwn(target, tool)) aliases[tool] = target[method];  // the raw tool name works too
    }
    const available = names.join(", ");
    freeze(target);
    return new Proxy_(target, {
      get(t, property) {
        if (hasOwn(t, property)) return t[property];
        if (typeof property === "symbol" || reflectApply(setHas, passThrough, [property])) return undefined;
        if (hasOwn(aliases, property)) return aliases[property];
        throw new TypeErr(`unknown tool '${toStr(property)}' on server '${server}'; available: ${available}`);
      },
    });
  }

  function configure(text) {
    config = parse(text);
    for (const binding of keys(config.servers)) {
      const spec = config.servers[binding];
      defineProperty(g, binding, { value: serverObject(binding, spec.server, spec.methods), writable: false, configurable: false, enumerable: true });
    }
  }

  const cancelled = create(null);
  function setTimeoutImpl(callback, delay, ...args) {
    if (typeof callback !== "function") throw new TypeErr("setTimeout needs a function");
    if (timers >= config.maxTimers) throw new RangeErr(`more than ${config.maxTimers} pending timers`);
    timers += 1;
    const id = nextId;
    const milliseconds = Number(delay) > 0 ? Number(delay) : 0;
    reflectApply(then, request('"sleep",' + milliseconds, null), [() => {
      timers -= 1;
      if (cancelled[id]) { delete cancelled[id]; return; }
      try { reflectApply(callback, undefined, args); } catch (error) { log("error", ["Uncaught in a setTimeout callback:", error]); }
    }]);
    return id;
  }
  defineProperty(g, "setTimeout", { value: setTimeoutImpl, writable: false, configurable: false });
  defineProperty(g, "clearTimeout", { value: (id) => { cancelled[id] = true; }, writable: false, configurable: false });

  function errorJson(name, message, stack, kind) {
    return '{"name":' + quote(name) + ',"message":' + quote(message) + ',"stack":' + quote(stack) +
      ',"kind":' + (kind === null ? "null" : quote(kind)) + "}";
  }

  function describeError(error) {
    try {
      if (error instanceof Err) {
        const kind = error instanceof ToolError ? toStr(error.kind) : null;
        const stack = error.stack;
        return errorJson(toStr(error.name ?? "Error"), toStr(error.message ?? ""), typeof stack === "string" ? stack : "", kind);
      }
      return errorJson("Error", "a non-Error value was thrown: " + describeValue(error), "", null);
    } catch (inner) {
      return errorJson("Error", "an unprintable value was thrown", "", null);
    }
  }

  function finish(returned, value) {
    if (outcome !== null) return;
    if (!returned) { outcome = '{"state":"threw","error":' + describeError(value) + "}"; return; }
    let text;
    try {
      text = stringify(value);
      text = text === undefined ? "null" : toStr(text);
    } catch (error) {
      const message = "the return value is not JSON-serialisable (" + describeValue(error) + ")";
      outcome = '{"state":"threw","error":' + errorJson("TypeError", message, "", null) + "}";
      return;
    }
    const kept = reflectApply(strSlice, text, [0, config.maxResultChars + 1]);
    outcome = '{"state":"returned","value":' + quote(kept) + ',"chars":' + text.length + "}";
  }

  function start(program) {
    let promise;
    try { promise = program(); } catch (error) { finish(false, error); return; }
    reflectApply(then, promise, [(value) => finish(true, value), (error) => finish(false, error)]);
  }

  const host = {
    pump() {
      let requests = "";
      for (; queueStart < nextId; queueStart++) {
        requests += (requests ? "," : "") + queue[queueStart];
        delete queue[queueStart];
      }
      let lines = "";
      for (let i = 0; i < logCount; i++) {
        lines += (i ? "," : "") + quote(logs[i]);
        delete logs[i];
      }
      const report = '{"requests":[' + requests + '],"logs":[' + lines + '],"logDropped":' + logDropped +
        ',"outcome":' + (outcome === null ? "null" : outcome) + "}";
      logCount = 0;
      logDropped = 0;
      return report;
    },
    deliver(text) {
      const batch = parse(text);
      for (let i = 0; i < batch.length; i++) {
        const id = batch[i][0], answer = batch[i][1];
        const entry = pending[id];
        if (entry === undefined) continue;
        delete pending[id];
        if (answer.ok === true) entry.resolve(answer.value);
        else {
          const context = entry.context, error = answer.error;
          entry.reject(toolError(context.server, context.tool, toStr(error.kind), toStr(error.message), context.site, error.limit));
        }
      }
    },
  };

  // One function, so each step is one call from Python into V8.
  return freeze(function channel(op, arg) {
    if (op === "pump") return host.pump();
    if (op === "deliver") { host.deliver(arg); return ""; }
    if (op === "start") { start(arg); return ""; }
    if (op === "configure") { configure(arg); return ""; }
    throw new TypeErr("unknown channel operation");
  });
})()

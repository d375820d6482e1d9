// mcp-guard Code Mode runtime: evaluated in every fresh V8 context before the program.
//
// It (1) removes what could escape the heap limit or generate code from strings, (2) installs
// console capture, timers and one global per server, and (3) defines the host channel the Python
// driver uses. JavaScript never calls into Python: every tool call and timer is queued as a request
// that the driver collects with `pump()` and answers with `deliver()`, both through cancellable evals,
// so a busy program can never block the gateway's event loop.
//
// `__CONFIG__` is replaced by the driver with a JSON object:
//   {servers: {binding: {server, methods: {method: tool}}}, maxToolCalls, maxLogChars, maxResultChars, maxTimers}
(function (config) {
  "use strict";
  const g = globalThis;
  const { stringify, parse } = JSON;
  const { create, freeze, keys, defineProperty, getOwnPropertyNames, getPrototypeOf } = Object;
  const hasOwn = Object.hasOwn;
  const isArray = Array.isArray;
  const P = Promise;
  const then = P.prototype.then;
  // Captured: a program may replace Function.prototype.call/apply, which would hand it whatever the
  // runtime calls through them (such as the unguarded builtins below).
  const reflectApply = Reflect.apply;
  const Err = Error, TypeErr = TypeError, RangeErr = RangeError;
  const toStr = String;

  // --- 1. removals --------------------------------------------------------------------------
  // Buffers are allocated outside the V8 heap, so the hard memory limit does not see them. Matched by
  // name (reading every global would instantiate the lazy ones, such as Intl and Temporal, for nothing).
  const removed = /^(?:(?:Big)?(?:Int|Uint|Float)\d+(?:Clamped)?Array|ArrayBuffer|SharedArrayBuffer|DataView|Atomics|WebAssembly|FinalizationRegistry)$/;
  for (const name of getOwnPropertyNames(g)) {
    if (removed.test(name)) delete g[name];
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

  // Some builtins size an internal table from an array's `length` before looping in C++, where
  // neither the heap limit nor the timeout can interrupt them: on a sparse array with a huge length
  // V8 then aborts the whole process. No array that fits under the heap limit is that long, so such
  // calls are refused up front (Array.from and split build their results in JavaScript instead).
  const maxLength = config.maxArrayLength;
  function tooLong(what) {
    return new RangeErr(`${what} is too long for the sandbox (more than ${maxLength} elements)`);
  }
  const ArrayProto = Array.prototype;
  for (const name of getOwnPropertyNames(ArrayProto)) {
    const original = ArrayProto[name];
    if (typeof original !== "function" || name === "constructor") continue;
    defineProperty(ArrayProto, name, {
      value: { [name](...args) {
        if (isArray(this) && this.length > maxLength) throw tooLong("the array");
        return reflectApply(original, this, args);
      } }[name],
      writable: true, configurable: true, enumerable: false,
    });
  }
  const arrayFrom = Array.from;
  defineProperty(Array, "from", { writable: true, configurable: true, enumerable: false, value: function from(source, mapFn, thisArg) {
    if (source != null && typeof source[Symbol.iterator] !== "function") {
      const length = Math.min(Number(source.length) || 0, Number.MAX_SAFE_INTEGER);
      if (length > maxLength) throw tooLong("the array-like");
      const out = [];
      for (let i = 0; i < length; i++) out[i] = mapFn === undefined ? source[i] : reflectApply(mapFn, thisArg, [source[i], i]);
      return out;
    }
    return reflectApply(arrayFrom, this, [source, mapFn, thisArg]);
  } });
  const split = String.prototype.split;
  defineProperty(String.prototype, "split", { writable: true, configurable: true, enumerable: false, value: function split_(...args) {
    const text = toStr(this);
    if (text.length > maxLength) throw tooLong("the string to split");
    return reflectApply(split, text, args);
  } });

  // --- 2. console ---------------------------------------------------------------------------
  let logs = [];
  let logChars = 0, logDropped = 0;

  function describeValue(value) {
    try {
      if (typeof value === "string") return value;
      if (value instanceof Err) return `${value.name}: ${value.message}`;
      if (typeof value === "function") return `[function ${value.name || "anonymous"}]`;
      if (typeof value === "bigint" || typeof value === "symbol" || value === undefined) return toStr(value);
      const text = stringify(value);
      return text === undefined ? toStr(value) : text;
    } catch (error) {
      return "[unprintable value]";
    }
  }

  function log(level, args) {
    let line = "";
    for (let i = 0; i < args.length; i++) line += (i ? " " : "") + describeValue(args[i]);
    if (level !== "log") line = `[${level}] ${line}`;
    if (logChars + line.length > config.maxLogChars) {
      const room = config.maxLogChars - logChars;
      if (room > 0) { logs[logs.length] = line.slice(0, room); logChars += room; }
      logDropped += 1;
      return;
    }
    logs[logs.length] = line;
    logChars += line.length;
  }

  const consoleObject = create(null);
  for (const level of ["log", "info", "warn", "error", "debug"]) {
    consoleObject[level] = (...args) => log(level, args);
  }
  defineProperty(g, "console", { value: freeze(consoleObject), writable: false, configurable: false });

  // --- 3. host channel ------------------------------------------------------------------------
  let nextId = 1;
  let queue = [];
  const pending = create(null);
  let toolCalls = 0, timers = 0;
  let fatal = null;
  let outcome = null;

  function request(payload, context) {
    const id = nextId++;
    queue[queue.length] = [id, ...payload];
    return new P((resolve, reject) => { pending[id] = { resolve, reject, context }; });
  }

  class ToolError extends Err {
    constructor(message, kind, server, tool) {
      super(message);
      this.name = "ToolError";
      this.kind = kind;
      this.server = server;
      this.tool = tool;
    }
  }
  defineProperty(g, "ToolError", { value: ToolError, writable: false, configurable: false });

  function toolError(error, context) {
    const message = `${context.server}/${context.tool}: ${toStr(error.message)}`;
    const err = new ToolError(message, toStr(error.kind), context.server, context.tool);
    const site = context.site.stack;  // captured when the program made the call: points at its line
    const firstFrame = typeof site === "string" ? site.indexOf("\n") : -1;
    err.stack = `ToolError: ${message}` + (firstFrame >= 0 ? site.slice(firstFrame) : "");
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
        json = stringify(args);
      } catch (error) {
        throw new TypeErr(`${label}(): the arguments are not JSON-serialisable (${error.message})`);
      }
      toolCalls += 1;
      if (toolCalls > config.maxToolCalls) {
        const message = `tool call limit reached: at most ${config.maxToolCalls} tool calls per execution`;
        if (fatal === null) fatal = { kind: "limit", message };
        throw new RangeErr(message);
      }
      const site = new Err();  // the stack is captured now, formatted only if the call fails
      return request(["tool", server, tool, json], { server, tool, site });
    };
  }

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
    freeze(target);
    return new Proxy(target, {
      get(t, property) {
        if (hasOwn(t, property)) return t[property];
        if (typeof property === "symbol" || passThrough.has(property)) return undefined;
        if (hasOwn(aliases, property)) return aliases[property];
        throw new TypeErr(`unknown tool '${property}' on server '${server}'; available: ${names.join(", ")}`);
      },
    });
  }

  for (const binding of keys(config.servers)) {
    const spec = config.servers[binding];
    defineProperty(g, binding, { value: serverObject(binding, spec.server, spec.methods), writable: false, configurable: false, enumerable: true });
  }

  function setTimeoutImpl(callback, delay, ...args) {
    if (typeof callback !== "function") throw new TypeErr("setTimeout needs a function");
    if (timers >= config.maxTimers) throw new RangeErr(`more than ${config.maxTimers} pending timers`);
    timers += 1;
    const id = nextId;
    const milliseconds = Number(delay) > 0 ? Number(delay) : 0;
    reflectApply(then, request(["sleep", milliseconds], null), [() => {
      timers -= 1;
      if (cancelled[id]) { delete cancelled[id]; return; }
      try { callback(...args); } catch (error) { log("error", ["Uncaught in a setTimeout callback:", error]); }
    }]);
    return id;
  }
  const cancelled = create(null);
  defineProperty(g, "setTimeout", { value: setTimeoutImpl, writable: false });
  defineProperty(g, "clearTimeout", { value: (id) => { cancelled[id] = true; }, writable: false });

  function describeError(error) {
    try {
      if (error instanceof Err) {
        return {
          name: toStr(error.name ?? "Error"),
          message: toStr(error.message ?? ""),
          stack: typeof error.stack === "string" ? error.stack : "",
          kind: error instanceof ToolError ? error.kind : null,
        };
      }
      return { name: "Error", message: `a non-Error value was thrown: ${describeValue(error)}`, stack: "", kind: null };
    } catch (inner) {
      return { name: "Error", message: "an unprintable value was thrown", stack: "", kind: null };
    }
  }

  function finish(returned, value) {
    if (!returned) { outcome = { state: "threw", error: describeError(value) }; return; }
    let text;
    try {
      text = stringify(value);
    } catch (error) {
      outcome = { state: "threw", error: { name: "TypeError", message: `the return value is not JSON-serialisable (${error.message})`, stack: "", kind: null } };
      return;
    }
    if (text === undefined) text = "null";
    outcome = { state: "returned", value: text.slice(0, config.maxResultChars + 1), chars: text.length };
  }

  const host = freeze({
    start(program) {
      reflectApply(then, program(), [(value) => finish(true, value), (error) => finish(false, error)]);
    },
    pump() {
      const report = { requests: queue, logs, logDropped, fatal, outcome };
      queue = [];
      logs = [];
      logDropped = 0;
      return stringify(report);
    },
    deliver(text) {
      const batch = parse(text);
      for (let i = 0; i < batch.length; i++) {
        const id = batch[i][0], answer = batch[i][1];
        const entry = pending[id];
        if (entry === undefined) continue;
        delete pending[id];
        if (answer.ok) entry.resolve(answer.value);
        else entry.reject(toolError(answer.error, entry.context));
      }
    },
  });
  defineProperty(g, "__mcpGuard", { value: host, writable: false, configurable: false });
})(__CONFIG__);

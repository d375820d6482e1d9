// Preload (`node --require loopback.cjs ...`) that forces every TCP listen onto
// 127.0.0.1. Test peers such as server-everything listen on all interfaces by
// default; the test machine must never expose a port beyond loopback.
"use strict";

const net = require("node:net");

const LOOPBACK = "127.0.0.1";
const originalListen = net.Server.prototype.listen;

function isPort(value) {
  return typeof value === "number" || (typeof value === "string" && /^\d+$/.test(value));
}

function forceLoopback(args) {
  const [first] = args;
  if (isPort(first)) {
    // listen(port[, host][, backlog][, callback]): replace or insert the host.
    const rest = args.slice(1);
    if (typeof rest[0] === "string") rest.shift();
    return [first, LOOPBACK, ...rest];
  }
  if (first && typeof first === "object" && !Array.isArray(first) && first.path === undefined
      && first.fd === undefined && first.handle === undefined && !(first instanceof net.Server)
      && typeof first._handle === "undefined") {
    // listen(options[, callback]) with a TCP port.
    return [{ ...first, host: LOOPBACK }, ...args.slice(1)];
  }
  if (first === undefined || typeof first === "function") {
    // listen() / listen(callback): a random port on all interfaces by default.
    return [0, LOOPBACK, ...args];
  }
  return args; // Unix socket path or an existing handle: not a network listener.
}

net.Server.prototype.listen = function listen(...args) {
  return originalListen.apply(this, forceLoopback(args));
};

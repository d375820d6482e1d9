// A real OpenID provider (npm `oidc-provider`, certified) for mcp-guard's OAuth tests, on 127.0.0.1.
//
// Environment: PORT, RESOURCE (the gateway's resource URL, RFC 8707), ACCOUNTS (JSON: account id →
// extra claims such as email, groups, team). Login and consent are granted at once for the account named
// by the authorization request's `login_hint` (a test drives the flow; there is no person). Access tokens
// for RESOURCE are JWTs: RS256, or ES256 for the client `es-client` (client credentials, secret `es-secret`);
// the client `opaque-client` (secret `opaque-secret`) gets opaque ones, which the client `gateway` (secret
// `gateway-secret`) may introspect (RFC 7662) and their client revoke (RFC 7009).
// Prints `READY <issuer>` once listening.
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const resource = process.env.RESOURCE;
const accounts = JSON.parse(process.env.ACCOUNTS || "{}");
const issuer = `http://127.0.0.1:${port}`;
const scope = "notes:read notes:write";

function signingKey(type, options, kid, alg) {
  const jwk = generateKeyPairSync(type, options).privateKey.export({ format: "jwk" });
  return { ...jwk, kid, alg, use: "sig" };
}

const provider = new Provider(issuer, {
  jwks: {
    keys: [
      signingKey("rsa", { modulusLength: 2048 }, "rsa-1", "RS256"),
      signingKey("ec", { namedCurve: "P-256" }, "ec-1", "ES256"),
    ],
  },
  clients: [
    {
      client_id: "es-client",
      client_secret: "es-secret",
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
    },
    {
      client_id: "opaque-client",
      client_secret: "opaque-secret",
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
    },
    { client_id: "gateway", client_secret: "gateway-secret", grant_types: [], redirect_uris: [], response_types: [] },
  ],
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, ...(accounts[id] || {}) }) }),
  extraTokenClaims: async (ctx, token) => accounts[token.accountId || token.clientId] || {},
  scopes: ["openid", "offline_access"],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator, client) => {
        if (indicator !== resource) throw new Error(`unknown resource ${indicator}`);
        return {
          scope,
          audience: indicator,
          accessTokenTTL: 600,
          accessTokenFormat: client.clientId === "opaque-client" ? "opaque" : "jwt",
          jwt: { sign: { alg: client.clientId === "es-client" ? "ES256" : "RS256" } },
        };
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;

// The interaction: log the hinted account in, then grant what the consent prompt says is missing, with no
// page in between (the provider's own example logic, minus the forms).
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match) return next();
  const { prompt, params, session, grantId } = await provider.interactionDetails(ctx.req, ctx.res);
  ctx.respond = false;
  if (prompt.name === "login") {
    const accountId = params.login_hint || "alice";
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId } });
    return;
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(" "));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(" "));
  }
  await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
});

provider.listen(port, "127.0.0.1", () => console.log(`READY ${issuer}`));

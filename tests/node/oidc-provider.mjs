// A real OpenID provider (npm `oidc-provider`, certified) for mcp-guard's OAuth tests, on 127.0.0.1.
//
// Environment: PORT, RESOURCE (the gateway's resource URL, RFC 8707), ACCOUNTS (JSON: account id →
// extra claims such as email, groups, team). Login and consent are granted at once for the account named
// by the authorization request's `login_hint` (a test drives the flow; there is no person). Access tokens
// for RESOURCE are JWTs: RS256, or ES256 for the client `es-client` (client credentials, secret `es-secret`);
// so does `rs-client` (secret `rs-secret`, RS256); the client `opaque-client` (secret `opaque-secret`) gets opaque ones, which the client `gateway` (secret
// `gateway-secret`) may introspect (RFC 7662) and their client revoke (RFC 7009).
// The client `gateway` may also exchange (RFC 8693) an access token of this issuer for RESOURCE for a JWT
// whose audience is the requested `audience` (an upstream in TOKEN_EXCHANGE_AUDIENCES, comma-separated):
// oidc-provider has no token-exchange grant of its own, so one is registered with `registerGrantType`.
// The public client `dashboard` (no secret, PKCE) logs in to mcp-guard's dashboard with the authorization code
// flow; its redirect URIs are DASHBOARD_REDIRECT_URIS (comma-separated), by default `/ui/oauth/callback` and
// `/mcp/ui/oauth/callback` at RESOURCE's origin.
// With SIGN_IN_FORM=1 the login is a page with a "Sign in" button (a form posted to the provider) instead of
// an immediate redirect, as at a real provider: the way back to the client then starts on the provider's page.
// Prints `READY <issuer>` once listening.
import { generateKeyPairSync } from "node:crypto";
import { SignJWT, createLocalJWKSet, importJWK, jwtVerify } from "jose";
import Provider, { errors } from "oidc-provider";

const port = Number(process.env.PORT);
const resource = process.env.RESOURCE;
const accounts = JSON.parse(process.env.ACCOUNTS || "{}");
const issuer = `http://127.0.0.1:${port}`;
const scope = "notes:read notes:write";
const exchangeAudiences = (process.env.TOKEN_EXCHANGE_AUDIENCES || "").split(",").filter(Boolean);
const resourceOrigin = new URL(resource).origin;
const dashboardRedirects = (process.env.DASHBOARD_REDIRECT_URIS || `${resourceOrigin}/ui/oauth/callback,${resourceOrigin}/mcp/ui/oauth/callback`)
  .split(",")
  .filter(Boolean);
const signInForm = process.env.SIGN_IN_FORM === "1";
const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

function signingKey(type, options, kid, alg) {
  const jwk = generateKeyPairSync(type, options).privateKey.export({ format: "jwk" });
  return { ...jwk, kid, alg, use: "sig" };
}

const keys = [
  signingKey("rsa", { modulusLength: 2048 }, "rsa-1", "RS256"),
  signingKey("ec", { namedCurve: "P-256" }, "ec-1", "ES256"),
];
const publicKeys = keys.map(({ kty, kid, alg, use, n, e, crv, x, y }) => ({ kty, kid, alg, use, n, e, crv, x, y }));

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [
    {
      client_id: "es-client",
      client_secret: "es-secret",
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
    },
    {
      client_id: "rs-client",
      client_secret: "rs-secret",
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
    {
      client_id: "dashboard",
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code"],
      response_types: ["code"],
      redirect_uris: dashboardRedirects,
    },
    {
      client_id: "gateway",
      client_secret: "gateway-secret",
      grant_types: [TOKEN_EXCHANGE],
      redirect_uris: [],
      response_types: [],
    },
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
  if (prompt.name === "login" && signInForm && ctx.method === "GET") {
    ctx.type = "html";
    ctx.body = `<!doctype html><title>Sign in</title><form method="post" action="${ctx.path}"><button>Sign in</button></form>`;
    return;
  }
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

// RFC 8693: the subject token must be a valid access token of this issuer for the gateway (RESOURCE); the
// issued token keeps its subject and claims, names the gateway as the actor (`act`), and has the requested
// audience, which must be a known upstream. Signed with the provider's own RS256 key (published in its JWKS).
const localKeys = createLocalJWKSet({ keys: publicKeys });
const rsaKey = await importJWK(keys[0], "RS256");
provider.registerGrantType(
  TOKEN_EXCHANGE,
  async (ctx) => {
    const { subject_token, subject_token_type, audience, scope: asked } = ctx.oidc.params;
    if (subject_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest("subject_token_type must be an access token");
    }
    if (!exchangeAudiences.includes(audience)) throw new errors.InvalidTarget(`unknown audience ${audience}`);
    let subject;
    try {
      ({ payload: subject } = await jwtVerify(subject_token, localKeys, { issuer, audience: resource }));
    } catch (error) {
      throw new errors.InvalidGrant(`subject_token is not valid: ${error.code || error.message}`);
    }
    const { iss, aud, iat, exp, nbf, jti, client_id, scope: _, ...claims } = subject;
    const accessToken = await new SignJWT({ ...claims, client_id: ctx.oidc.client.clientId, act: { sub: ctx.oidc.client.clientId }, ...(asked ? { scope: asked } : {}) })
      .setProtectedHeader({ alg: "RS256", kid: "rsa-1", typ: "at+jwt" })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime("5m")
      .setJti(crypto.randomUUID())
      .sign(rsaKey);
    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: "Bearer",
      expires_in: 300,
    };
  },
  ["subject_token", "subject_token_type", "audience", "scope", "requested_token_type", "resource"],
);

provider.listen(port, "127.0.0.1", () => console.log(`READY ${issuer}`));

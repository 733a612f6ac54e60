// A real OpenID Connect provider for the tests (node's oidc-provider, OpenID certified), issuing
// Entra-shaped ID tokens (oid, tid, groups or the groups overage, preferred_username, name, email),
// and a Microsoft Graph stand-in: POST /graph/v1.0/me/getMemberObjects with the user's access token.
//
// Configuration from the environment:
//   PORT           port on 127.0.0.1 (0: any free one; the chosen URL is printed as "READY <url>")
//   OIDC_CLIENTS   JSON list of {client_id, client_secret, redirect_uris}
//   OIDC_USERS     JSON object: login -> {oid, tid, name, email, groups: [...], overage: bool}
// The login page is oidc-provider's development one: any password, the login names the user.
import http from 'node:http';
import Provider from 'oidc-provider';

const users = JSON.parse(process.env.OIDC_USERS || '{}');
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_post',
  ...c,
}));

function claimsOf(login) {
  const user = users[login];
  if (!user) return { sub: login };
  const claims = {
    sub: user.oid,
    oid: user.oid,
    tid: user.tid,
    preferred_username: login,
    name: user.name,
    email: user.email,
  };
  if (user.overage) {
    claims._claim_names = { groups: 'src1' };
    claims._claim_sources = { src1: { endpoint: 'https://graph.windows.net/tenant/users/oid/getMemberObjects' } };
  } else {
    claims.groups = user.groups || [];
  }
  return claims;
}

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    pkce: { required: () => true },
    conformIdTokenClaims: false, // put the scope's claims in the ID token, as Entra does
    claims: {
      openid: ['sub', 'oid', 'tid', 'groups', '_claim_names', '_claim_sources'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
    },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['peak-portal-tests-only'] },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => claimsOf(id),
    }),
    // No consent screen: grant what the portal asks for, as an admin-consented Entra app does.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email');
      grant.addOIDCClaims(['oid', 'tid', 'groups', '_claim_names', '_claim_sources', 'name',
        'preferred_username', 'email']);
      await grant.save();
      return grant;
    },
  });
  provider.proxy = false;

  const oidc = provider.callback();
  server.on('request', async (req, res) => {
    if (req.method === 'POST' && req.url === '/graph/v1.0/me/getMemberObjects') {
      const auth = req.headers.authorization || '';
      const token = await provider.AccessToken.find(auth.replace(/^Bearer /, ''));
      const user = token && users[token.accountId];
      res.setHeader('Content-Type', 'application/json');
      if (!user) {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: { code: 'InvalidAuthenticationToken' } }));
        return;
      }
      res.end(JSON.stringify({ value: user.groups || [] }));
      return;
    }
    oidc(req, res);
  });
  console.log(`READY ${issuer}`);
});

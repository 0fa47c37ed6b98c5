/**
 * The CLI is a client of the management API, so it validates exactly as the API does. (The
 * proxy package does not import @keyleash/client: dependencies point one way.)
 */
export interface CliConnection {
  url: string;
  adminToken: string | undefined;
}

export class CliError extends Error {}

export async function callApi(connection: CliConnection, method: string, path: string, body?: unknown, bearer?: string): Promise<unknown> {
  const token = bearer ?? connection.adminToken;
  let response: Response;
  try {
    response = await fetch(new URL(path, connection.url), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new CliError(`cannot reach keyleash at ${connection.url} (${(error as Error).message}); is \`keyleash serve\` running? Set --url or KEYLEASH_URL.`);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`keyleash answered ${response.status} with a non-JSON body`);
  }
  if (!response.ok) {
    const error = (json as { error?: { message?: string; problems?: string[] } }).error;
    const problems = error?.problems?.length ? `\n  - ${error.problems.join('\n  - ')}` : '';
    const hint = response.status === 401 && !token ? ' (set KEYLEASH_ADMIN_TOKEN or --admin-token)' : '';
    throw new CliError(`${response.status}: ${error?.message ?? text}${hint}${problems}`);
  }
  return json;
}

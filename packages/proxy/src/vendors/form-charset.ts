/**
 * Stripe and Twilio read form bodies as UTF-8. A form that declares another charset may be decoded
 * differently by the vendor than by keyleash (parameter names included), so it is refused.
 */
/** why a form's Content-Type parameters (after the `;`) are refused: a charset other than UTF-8; undefined when fine */
export function charsetProblem(parameters: readonly string[]): string | undefined {
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=', 2);
    if (name.trim().toLowerCase() !== 'charset') continue;
    const charset = value.trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return `the form declares charset=${charset.slice(0, 20)}; keyleash reads forms as UTF-8 only, so send it as UTF-8 (or without a charset)`;
  }
  return undefined;
}

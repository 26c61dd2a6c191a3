// The `check` op: compute what one conformance-kit vector asks (packages/protocol/test/vectors/
// README.md, "Kinds") and return {output} — or throw the PeerError whose code the vector expects.
export async function runCheck(vector: unknown): Promise<Record<string, unknown>> {
  void vector;
  throw new Error('not yet');
}

/**
 * Known-answer vectors for the signed formats: fixed keys from fixed seeds, fixed payloads, and the
 * exact envelope text they must produce. buildVectors() is deterministic (Ed25519 signatures are);
 * write-vectors.ts checks its output in under test/fixtures/trust/, and vectors.test.ts compares
 * byte for byte.
 */
import {
  documentKinds,
  encodeEnvelope,
  pae,
  sha256Hex,
  signDocument,
  signEnvelope,
  SigningKey,
} from '../../../src/trust/index.js';
import { rfc8032Seed, samplePayload, seededKey } from './pki.js';

export const vectorsPath = new URL('../../fixtures/trust/vectors.json', import.meta.url);

export type KeyVector = {
  label: string;
  seed: string;
  keyId: string;
  publicKey: string;
  fingerprint: string;
};
export type PaeVector = { payloadType: string; payload: string; pae: string };
export type EnvelopeVector = {
  name: string;
  signers: string[];
  payloadType: string;
  payload: string;
  hash: string;
  encoded: string;
};
export type Vectors = { keys: KeyVector[]; pae: PaeVector[]; envelopes: EnvelopeVector[] };

export function vectorSeed(label: string): string {
  return label === 'rfc8032-test-1' ? rfc8032Seed : sha256Hex(`steward-test-key:${label}`);
}

export function vectorKey(label: string): SigningKey {
  return label === 'rfc8032-test-1' ? SigningKey.fromSeed(Buffer.from(rfc8032Seed, 'hex')) : seededKey(label);
}

const keyLabels = ['rfc8032-test-1', 'vector-1', 'vector-2'];

const paeInputs: [string, string][] = [
  ['http://example.com/HelloWorld', 'hello world'],
  ['application/vnd.steward.root+json', ''],
  ['application/vnd.steward.client-report+json', '{"ü":"é"}'],
];

export function buildVectors(): Vectors {
  const keys = keyLabels.map((label) => {
    const key = vectorKey(label);
    const record = key.publicRecord();
    return { label, seed: vectorSeed(label), ...record, fingerprint: key.fingerprint };
  });
  const paeVectors = paeInputs.map(([payloadType, payload]) => ({
    payloadType,
    payload,
    pae: Buffer.from(pae(payloadType, Buffer.from(payload, 'utf8'))).toString('utf8'),
  }));
  const hello = Buffer.from('hello world', 'utf8');
  const helloEnvelope = signEnvelope('http://example.com/HelloWorld', hello, [vectorKey('vector-1')]);
  const envelopes: EnvelopeVector[] = [
    {
      name: 'dsse-hello-world',
      signers: ['vector-1'],
      payloadType: helloEnvelope.payloadType,
      payload: 'hello world',
      hash: sha256Hex(hello),
      encoded: encodeEnvelope(helloEnvelope),
    },
  ];
  for (const kind of documentKinds) {
    const signers = kind === 'root' ? ['vector-1', 'vector-2'] : ['vector-1'];
    const signed = signDocument(samplePayload(kind), signers.map(vectorKey));
    envelopes.push({
      name: `document-${kind}`,
      signers,
      payloadType: signed.envelope.payloadType,
      payload: Buffer.from(signed.payloadBytes).toString('utf8'),
      hash: signed.hash,
      encoded: signed.encoded,
    });
  }
  return { keys, pae: paeVectors, envelopes };
}

/** The fixture text: stable JSON with a trailing newline. */
export function vectorsText(vectors: Vectors): string {
  return JSON.stringify(vectors, null, 2) + '\n';
}

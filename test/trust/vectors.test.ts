/**
 * Known-answer vectors (DSSE PAE spec example, RFC 8032, fixed Steward envelopes checked in under
 * test/fixtures/trust/vectors.json). A failure here means a wire format changed.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  fingerprintOf,
  keyIdOf,
  openDocument,
  pae,
  parseEnvelope,
  payloadTypeOf,
  publicKeyFromRecord,
  sha256Hex,
  verifyEnvelope,
  type DocumentKind,
} from '../../src/trust/index.js';
import { now, rfc8032Seed } from './support/pki.js';
import { buildVectors, vectorKey, vectorsPath, vectorsText, type Vectors } from './support/vectors.js';

const fixtureText = await readFile(vectorsPath, 'utf8');
const fixture = JSON.parse(fixtureText) as Vectors;

describe('known-answer vectors', () => {
  it('PAE matches the DSSE specification example', () => {
    const encoded = pae('http://example.com/HelloWorld', Buffer.from('hello world'));
    expect(Buffer.from(encoded).toString('utf8')).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('PAE counts bytes, not characters', () => {
    const encoded = Buffer.from(pae('t', Buffer.from('é', 'utf8'))).toString('utf8');
    expect(encoded).toBe('DSSEv1 1 t 2 é');
  });

  it('Ed25519 matches RFC 8032 section 7.1 TEST 1 (seed, public key, signature of the empty message)', () => {
    const key = vectorKey('rfc8032-test-1');
    expect(Buffer.from(key.publicRecord().publicKey, 'base64').toString('hex')).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    expect(Buffer.from(key.sign(new Uint8Array(0))).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(rfc8032Seed).toHaveLength(64);
  });

  it('key ids are the SHA-256 of the raw public key, fingerprints its first 32 hex digits', () => {
    for (const vector of fixture.keys) {
      const raw = Buffer.from(vector.publicKey, 'base64');
      expect(keyIdOf(raw)).toBe(vector.keyId);
      expect(sha256Hex(raw)).toBe(vector.keyId);
      expect(fingerprintOf(vector.keyId)).toBe(vector.fingerprint);
      expect(vectorKey(vector.label).keyId).toBe(vector.keyId);
    }
  });

  it('the code reproduces the checked-in vectors byte for byte', () => {
    expect(vectorsText(buildVectors())).toBe(fixtureText);
  });

  it('every checked-in envelope verifies over an independently built PAE', () => {
    for (const vector of fixture.envelopes) {
      const envelope = parseEnvelope(vector.encoded);
      const payload = Buffer.from(vector.payload, 'utf8');
      expect(envelope.payload).toBe(payload.toString('base64'));
      const message = Buffer.from(
        `DSSEv1 ${Buffer.byteLength(vector.payloadType)} ${vector.payloadType} ${payload.length} ${vector.payload}`,
        'utf8',
      );
      expect(envelope.signatures.map((signature) => signature.keyid)).toEqual(
        vector.signers.map((label) => vectorKey(label).keyId),
      );
      envelope.signatures.forEach((signature, index) => {
        const record = fixture.keys.find((key) => key.label === vector.signers[index])!;
        const key = publicKeyFromRecord({ keyId: record.keyId, publicKey: record.publicKey });
        expect(key.verify(message, Buffer.from(signature.sig, 'base64'))).toBe(true);
      });
      const keys = vector.signers.map((label) => vectorKey(label).verifyingKey());
      expect(Buffer.from(verifyEnvelope(envelope, keys, keys.length, vector.payloadType))).toEqual(payload);
      expect(sha256Hex(payload)).toBe(vector.hash);
    }
  });

  it('every checked-in document opens as its kind', () => {
    for (const vector of fixture.envelopes.filter((v) => v.name.startsWith('document-'))) {
      const kind = vector.name.slice('document-'.length) as DocumentKind;
      expect(vector.payloadType).toBe(payloadTypeOf(kind));
      const keys = vector.signers.map((label) => vectorKey(label).verifyingKey());
      const opened = openDocument(kind, vector.encoded, keys, keys.length, now);
      expect(opened.hash).toBe(vector.hash);
      expect(opened.payload.kind).toBe(kind);
    }
  });
});

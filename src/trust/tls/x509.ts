/**
 * The X.509 library (@peculiar/x509), loaded once with what it needs: a Reflect metadata polyfill
 * (its dependency injection requires one, imported before it) and node's WebCrypto as its crypto
 * provider. Only the issuing side (authority.ts) imports this file, so agents that merely connect
 * do not load it.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto);

export { x509 };

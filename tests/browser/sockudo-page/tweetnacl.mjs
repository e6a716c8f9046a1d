// ES module face of tweetnacl 1.0.3 for the page: nacl-fast.min.js (UMD, loaded as a classic
// script before any module) sets self.nacl; the client does `import * as nacl from "tweetnacl"`.
const nacl = globalThis.nacl;
if (!nacl || typeof nacl.secretbox !== 'function') throw new Error('tweetnacl (nacl-fast.min.js) is not loaded');
export default nacl;
export const { secretbox, box, sign, hash, verify, randomBytes, setPRNG, scalarMult, lowlevel } = nacl;

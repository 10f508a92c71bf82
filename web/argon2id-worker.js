// Argon2id for the dialog's BrowserProvider (pysrc/vouch/crypto/browser.py), in a module
// worker so the page stays responsive while it runs. The primitive is @phi-ag/argon2's
// WebAssembly SIMD build of the reference implementation (phc-winner-argon2); this file only
// copies bytes in and out of its exports. (The package's own JS wrapper is not used: it
// takes a string and passes its UTF-16 length as the byte length.)
//
// Per derivation, one message in: { id, password, salt, memoryKib, iterations, lanes,
// length } (Uint8Arrays and integers), and one out: { id, key } or { id, error, name }.
// The wasm is compiled once, as the worker starts (the page starts it ahead of need); each
// derivation gets a fresh instance, so the memory Argon2 took (memoryKib and then some) is
// garbage once the key is out. { prepare: memoryKib } readies the next derivation's
// instance while the user is still typing: its memory grown and touched, which is a fifth
// of a derivation's time when it happens inside it (the kernel zeroing fresh pages).
const ARGON2_ID = 2;
const ARGON2_VERSION_13 = 0x13;
const WASM_URL = new URL("vendor/phi-ag-argon2/argon2.wasm", import.meta.url);

// A browser without WebAssembly SIMD rejects this with a CompileError: the page then uses
// hash-wasm.
const compiled = fetch(WASM_URL).then((response) => {
  if (!response.ok) throw new Error(`${WASM_URL}: HTTP ${response.status}`);
  return WebAssembly.compileStreaming(response);
});
compiled.catch(() => {}); // reported to each request below

async function instantiate() {
  const instance = await WebAssembly.instantiate(await compiled);
  instance.exports._initialize();
  return instance.exports;
}

async function prepare(memoryKib) {
  const wasm = await instantiate();
  const bytes = memoryKib * 1024 + (1 << 20); // Argon2's blocks, plus room for the rest
  const at = wasm.malloc(bytes);
  if (at) {
    new Uint8Array(wasm.memory.buffer, at, bytes).fill(0);
    wasm.free(at); // the allocator keeps the memory: argon2_hash gets this region back
  }
  return wasm;
}
let prepared = null;

function argon2id(wasm, { password, salt, memoryKib, iterations, lanes, length }) {
  const pointers = [wasm.malloc(Math.max(password.length, 1)), wasm.malloc(salt.length), wasm.malloc(length)];
  const [passwordAt, saltAt, keyAt] = pointers;
  if (pointers.includes(0)) throw new RangeError("argon2id: out of memory");
  try {
    new Uint8Array(wasm.memory.buffer).set(password, passwordAt);
    new Uint8Array(wasm.memory.buffer).set(salt, saltAt);
    const status = wasm.argon2_hash(
      iterations, memoryKib, lanes, passwordAt, password.length, saltAt, salt.length,
      keyAt, length, 0, 0, ARGON2_ID, ARGON2_VERSION_13,
    );
    const heap = new Uint8Array(wasm.memory.buffer); // a new view: the memory has grown
    if (status !== 0) {
      const text = heap.subarray(wasm.argon2_error_message(status));
      throw new RangeError(`argon2id: ${new TextDecoder().decode(text.subarray(0, text.indexOf(0)))}`);
    }
    return heap.slice(keyAt, keyAt + length);
  } finally {
    const heap = new Uint8Array(wasm.memory.buffer);
    heap.fill(0, passwordAt, passwordAt + password.length);
    heap.fill(0, keyAt, keyAt + length);
    pointers.forEach((pointer) => wasm.free(pointer));
  }
}

self.onmessage = async ({ data }) => {
  if (data.prepare) {
    prepared ??= prepare(data.prepare);
    prepared.catch(() => {}); // a derivation reports it
    return;
  }
  const { id } = data;
  const ready = prepared;
  prepared = null; // used once: its memory is garbage after this derivation
  try {
    const wasm = (ready && (await ready.catch(() => null))) || (await instantiate());
    const key = argon2id(wasm, data);
    self.postMessage({ id, key }, [key.buffer]);
  } catch (error) {
    self.postMessage({ id, error: String(error?.message ?? error), name: error?.name ?? "Error" });
  } finally {
    data.password.fill(0);
  }
};

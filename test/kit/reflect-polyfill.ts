// @peculiar/x509 loads tsyringe, which refuses to start without a Reflect
// metadata API, and the `reflect-metadata` package is not installed. The kit
// needs only what tsyringe calls; a real polyfill, once present, wins.

type MetadataTarget = object;
const store = new WeakMap<MetadataTarget, Map<unknown, unknown>>();

interface ReflectMetadata {
  getMetadata?(key: unknown, target: MetadataTarget): unknown;
  getOwnMetadata?(key: unknown, target: MetadataTarget): unknown;
  defineMetadata?(key: unknown, value: unknown, target: MetadataTarget): void;
}

const reflect = Reflect as unknown as ReflectMetadata;
if (typeof reflect.getMetadata !== 'function') {
  const own = (key: unknown, target: MetadataTarget) => store.get(target)?.get(key);
  reflect.getOwnMetadata = own;
  reflect.getMetadata = (key, target) => {
    for (let t: MetadataTarget | null = target; t; t = Object.getPrototypeOf(t) as MetadataTarget | null) {
      const v = own(key, t);
      if (v !== undefined) return v;
    }
    return undefined;
  };
  reflect.defineMetadata = (key, value, target) => {
    const m = store.get(target) ?? new Map<unknown, unknown>();
    m.set(key, value);
    store.set(target, m);
  };
}

export {};

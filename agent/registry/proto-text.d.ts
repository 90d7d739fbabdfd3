// .proto files imported as text (esbuild's text loader): see etcd-protos.ts.
declare module '*.proto' {
  const text: string;
  export default text;
}

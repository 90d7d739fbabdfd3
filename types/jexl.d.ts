// jexl ships no types; these cover the part berth uses.
declare module 'jexl' {
  export class Jexl {
    addBinaryOp(operator: string, precedence: number, fn: (left: any, right: any) => unknown): void;
    addUnaryOp(operator: string, fn: (right: any) => unknown): void;
    addTransform(name: string, fn: (value: any, ...args: any[]) => unknown): void;
    addFunction(name: string, fn: (...args: any[]) => unknown): void;
    compile(expression: string): { evalSync(context?: object): unknown };
    evalSync(expression: string, context?: object): unknown;
  }
  const jexl: Jexl & { Jexl: typeof Jexl };
  export default jexl;
}

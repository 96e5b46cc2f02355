/**
 * Reading a task function's source before it is sent: its form (a function, an arrow, a method
 * written with the shorthand syntax), whether it uses `this`, and the names it uses without
 * declaring them. Parsed once per source text, with acorn.
 */
import { type Node, parseExpressionAt } from 'acorn';

export interface SourceShape {
  /** Written with the method shorthand (`f(x) {...}`): compiled inside an object literal. */
  method: boolean;
  /** An arrow function: its `this` is the scope's it was written in. */
  arrow: boolean;
  /** Uses `this` of its own (a function, a method) or of the scope it was written in (an arrow). */
  usesThis: boolean;
  /** Every name it uses and does not declare: the worker's globals, or what it captured. */
  free: string[];
  /** Of `free`, those it reads (not only through `typeof`, which does not throw for a missing name). */
  read: string[];
  /** Of `free`, those it assigns as a bare name (in sloppy code, that makes a global). */
  assigned: string[];
  /** Of `read`, those it reads only inside a `with` statement (sloppy code): the object may have them. */
  readInWith: string[];
  /**
   * The globals it defines: properties it assigns on the global object by name
   * (`globalThis.x = ...`) and bare names it assigns; `null` when it cannot be told (it uses the
   * global object otherwise, as in `Object.assign(globalThis, ...)` or `globalThis[key]`).
   */
  defines: string[] | null;
}

const OPTIONS = { ecmaVersion: 'latest', allowHashBang: false } as const;

/** The shape of a function whose source text is `source`; a string saying why when it cannot be sent. */
export function readSource(source: string): SourceShape | string {
  let root: AnyNode | undefined;
  let method = false;
  const asExpression = parseWhole(`(${source}\n)`);
  if (asExpression !== undefined && asExpression.type !== 'SequenceExpression') {
    if (asExpression.type === 'ClassExpression') return 'a class cannot be submitted';
    root = asExpression;
  } else {
    const holder = parseWhole(`({${source}\n})`);
    const property = holder?.type === 'ObjectExpression' && holder.properties.length === 1 ? holder.properties[0] : undefined;
    if (property === undefined || property.type !== 'Property') return 'its source text could not be parsed as a function';
    if (property.kind !== 'init') return 'a getter or setter cannot be submitted';
    if (property.computed) return 'a method with a computed or symbol key cannot be sent by its source (the key is evaluated where it was written): write it as `function` or an arrow, or use task()';
    root = property.value as AnyNode;
    method = true;
  }
  if (root.type !== 'FunctionExpression' && root.type !== 'ArrowFunctionExpression') return 'its source text is not a function';
  const scan = new Scan();
  scan.function(root, true);
  const free = [...new Set([...scan.read, ...scan.probed, ...scan.assigned])].filter((name) => !scan.declared.has(name));
  const read = free.filter((name) => scan.read.has(name));
  const assigned = free.filter((name) => scan.assigned.has(name));
  const globalObject = GLOBAL_OBJECTS.filter((name) => !scan.declared.has(name));
  const escapes = globalObject.some((name) => scan.globalEscapes.has(name)) || (free.includes('eval') && !scan.declared.has('eval'));
  const defines = escapes ? null : [...new Set([...assigned, ...globalObject.flatMap((name) => scan.globalProperties.get(name) ?? [])])];
  const readInWith = read.filter((name) => scan.readInWith.has(name) && !scan.readOutsideWith.has(name));
  return { method, arrow: root.type === 'ArrowFunctionExpression', usesThis: scan.usesThis, free, read, assigned, readInWith, defines };
}

/** Names of the global object in a worker. */
const GLOBAL_OBJECTS = ['globalThis', 'global', 'self'];

/**
 * The expression inside the parentheses that wrap all of `text`, or `undefined`. Wrapped, so that
 * a function is read as an expression; `parseExpressionAt` answers the expression inside.
 */
function parseWhole(text: string): AnyNode | undefined {
  try {
    const node = parseExpressionAt(text, 0, OPTIONS) as AnyNode;
    return /^\s*\)\s*$/.test(text.slice(node.end)) ? node : undefined;
  } catch {
    return undefined;
  }
}

// acorn's nodes, loosely typed: the walk reads a handful of fields by name.
type AnyNode = Node & Record<string, any>;

/**
 * Collects the names a function declares and the names it reads or assigns. Declarations are
 * gathered over the whole function (not by block): a name used where the function declares it
 * nowhere is free; one declared in some inner block and used outside it fails in the worker as it
 * would where it was written.
 */
class Scan {
  readonly declared = new Set<string>();
  /** Names read (an assignment such as `x += 1` reads too). */
  readonly read = new Set<string>();
  /** Of those, the ones read inside the body of a `with`, and the ones read elsewhere. */
  readonly readInWith = new Set<string>();
  readonly readOutsideWith = new Set<string>();
  #withDepth = 0;
  /** Names read as `typeof name`. */
  readonly probed = new Set<string>();
  /** Names assigned as bare names (`x = 1`, `for (x of ...)`). */
  readonly assigned = new Set<string>();
  /** For each name of the global object, the properties assigned on it by name (`globalThis.x = ...`). */
  readonly globalProperties = new Map<string, string[]>();
  /** Names of the global object used otherwise than by a property name (`Object.assign(globalThis, ...)`). */
  readonly globalEscapes = new Set<string>();
  usesThis = false;

  /** `node` is a function; `own`: its `this` is the task's (the root, or an arrow in it). */
  function(node: AnyNode, own: boolean): void {
    if (node.id) this.declared.add(node.id.name);
    // `arguments` is the function's own unless it is an arrow.
    if (node.type !== 'ArrowFunctionExpression') this.declared.add('arguments');
    for (const param of node.params) this.pattern(param, true, own);
    this.visit(node.body, own);
  }

  /** A binding pattern: its names are declared (`declaring`) or assigned; defaults are read. */
  pattern(node: AnyNode, declaring: boolean, own: boolean): void {
    switch (node.type) {
      case 'Identifier':
        (declaring ? this.declared : this.assigned).add(node.name);
        return;
      case 'ObjectPattern':
        for (const property of node.properties) {
          if (property.type === 'RestElement') this.pattern(property.argument, declaring, own);
          else {
            if (property.computed) this.visit(property.key, own);
            this.pattern(property.value, declaring, own);
          }
        }
        return;
      case 'ArrayPattern':
        for (const element of node.elements) if (element) this.pattern(element, declaring, own);
        return;
      case 'RestElement':
        this.pattern(node.argument, declaring, own);
        return;
      case 'AssignmentPattern':
        this.pattern(node.left, declaring, own);
        this.visit(node.right, own);
        return;
      case 'MemberExpression':
        // An assignment target (`o.a = ...`, `[o.a, o[b]] = ...`).
        if (!declaring) this.member(node, own, true);
        return;
      default:
        this.visit(node, own);
    }
  }

  /** `object.property` or `object[key]`, read or (`assigning`) assigned. */
  member(node: AnyNode, own: boolean, assigning: boolean): void {
    const { object, property } = node;
    const key = !node.computed ? property.name : property.type === 'Literal' && typeof property.value === 'string' ? property.value : undefined;
    if (object.type === 'Identifier' && GLOBAL_OBJECTS.includes(object.name)) {
      this.read.add(object.name);
      if (key === undefined) this.globalEscapes.add(object.name);
      else if (assigning) this.globalProperties.set(object.name, [...(this.globalProperties.get(object.name) ?? []), key]);
    } else {
      this.visit(object, own);
    }
    if (node.computed) this.visit(property, own);
  }

  visit(node: AnyNode | null | undefined, own: boolean): void {
    if (node === null || node === undefined) return;
    switch (node.type) {
      case 'Identifier':
        this.read.add(node.name);
        (this.#withDepth > 0 ? this.readInWith : this.readOutsideWith).add(node.name);
        if (GLOBAL_OBJECTS.includes(node.name)) this.globalEscapes.add(node.name);
        return;
      case 'WithStatement':
        this.visit(node.object, own);
        this.#withDepth++;
        this.visit(node.body, own);
        this.#withDepth--;
        return;
      case 'ThisExpression':
        if (own) this.usesThis = true;
        return;
      case 'UnaryExpression':
        if (node.operator === 'typeof' && node.argument.type === 'Identifier') this.probed.add(node.argument.name);
        else this.visit(node.argument, own);
        return;
      case 'FunctionExpression':
      case 'FunctionDeclaration':
        this.function(node, false);
        return;
      case 'ArrowFunctionExpression':
        this.function(node, own);
        return;
      case 'ClassDeclaration':
      case 'ClassExpression':
        if (node.id) this.declared.add(node.id.name);
        this.visit(node.superClass, own);
        for (const member of node.body.body) {
          if (member.computed) this.visit(member.key, own);
          // Methods, field initializers and static blocks have a `this` of their own.
          if (member.type === 'StaticBlock') for (const statement of member.body) this.visit(statement, false);
          else this.visit(member.value, false);
        }
        return;
      case 'VariableDeclarator':
        this.pattern(node.id, true, own);
        this.visit(node.init, own);
        return;
      case 'CatchClause':
        if (node.param) this.pattern(node.param, true, own);
        this.visit(node.body, own);
        return;
      case 'AssignmentExpression':
        // `x += 1` and `x ??= 1` read `x` too.
        if (node.operator !== '=') this.visit(node.left, own);
        this.pattern(node.left, false, own);
        this.visit(node.right, own);
        return;
      case 'ForInStatement':
      case 'ForOfStatement':
        if (node.left.type === 'VariableDeclaration') this.visit(node.left, own);
        else this.pattern(node.left, false, own);
        this.visit(node.right, own);
        this.visit(node.body, own);
        return;
      case 'MemberExpression':
        this.member(node, own, false);
        return;
      case 'Property':
      case 'MethodDefinition':
      case 'PropertyDefinition':
        if (node.computed) this.visit(node.key, own);
        this.visit(node.value, own);
        return;
      case 'LabeledStatement':
        this.visit(node.body, own);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
      case 'MetaProperty':
      case 'Literal':
      case 'PrivateIdentifier':
        return;
    }
    for (const key of Object.keys(node)) {
      if (key === 'type' || key === 'start' || key === 'end' || key === 'loc' || key === 'range') continue;
      const child = node[key];
      if (Array.isArray(child)) {
        for (const item of child) if (item !== null && typeof item === 'object' && typeof item.type === 'string') this.visit(item, own);
      } else if (child !== null && typeof child === 'object' && typeof child.type === 'string') {
        this.visit(child, own);
      }
    }
  }
}

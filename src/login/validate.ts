/**
 * Checks a request body against a route's JSON Schema: the small part of JSON Schema the login API's
 * schemas use (object, string, boolean, required, minLength, maxLength). Lengths count Unicode code
 * points, as JSON Schema says. Messages read like Ajv's (`body/password must NOT have fewer than 8
 * characters`), so the answer is the same on every adapter.
 */

/** The schema subset understood here. */
export interface BodySchema {
  type?: string | readonly string[]
  properties?: Readonly<Record<string, BodySchema>>
  required?: readonly string[]
  minLength?: number
  maxLength?: number
}

function typeOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value)
  return actual === type || (type === 'number' && actual === 'integer')
}

function codePoints(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}

/** Why `value` does not match `schema` (the first problem), or undefined when it does. */
export function schemaProblem(schema: BodySchema, value: unknown, path = 'body'): string | undefined {
  if (schema.type !== undefined) {
    const types = typeof schema.type === 'string' ? [schema.type] : schema.type
    if (!types.some((t) => matchesType(value, t))) return `${path} must be ${types.join(',')}`
  }
  if (typeof value === 'string') {
    const length = schema.minLength !== undefined || schema.maxLength !== undefined ? codePoints(value) : 0
    if (schema.minLength !== undefined && length < schema.minLength)
      return `${path} must NOT have fewer than ${schema.minLength} characters`
    if (schema.maxLength !== undefined && length > schema.maxLength)
      return `${path} must NOT have more than ${schema.maxLength} characters`
  }
  if (typeOf(value) === 'object') {
    const record = value as Record<string, unknown>
    for (const name of schema.required ?? [])
      if (!Object.hasOwn(record, name)) return `${path} must have required property '${name}'`
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      if (!Object.hasOwn(record, name)) continue
      const problem = schemaProblem(property, record[name], `${path}/${name}`)
      if (problem !== undefined) return problem
    }
  }
  return undefined
}

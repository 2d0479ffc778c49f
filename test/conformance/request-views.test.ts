import { describe, expect, it } from 'vitest'
import { nodeRequestView, webRequestView } from '../../src/adapters/http.js'

describe('request views of the adapters', () => {
  it('give the method in upper case, the same string when it already is', () => {
    const get = 'GET'
    expect(nodeRequestView({ method: get, headers: {} }).method).toBe(get)
    expect(nodeRequestView({ method: 'post', headers: {} }).method).toBe('POST')
    expect(nodeRequestView({ method: 'Patch', headers: {} }).method).toBe('PATCH')
    expect(nodeRequestView({ headers: {} }).method).toBe('GET')
    expect(webRequestView(new Request('http://x/', { method: 'delete' })).method).toBe('DELETE')
    expect(webRequestView(new Request('http://x/', { method: 'purge' })).method).toBe('PURGE')
  })

  it('read the query from the request target, every value of a repeated parameter', () => {
    const node = nodeRequestView({ method: 'GET', url: '/me?jwt=a&x=1&jwt=b#frag', headers: {} })
    expect(node.query('jwt')).toEqual(['a', 'b'])
    expect(node.query('x')).toBe('1')
    expect(node.query('none')).toBeUndefined()
    const web = webRequestView(new Request('http://x/me?jwt=t'))
    expect(web.query('jwt')).toBe('t')
  })
})

/**
 * docs/migrating-from-flask.md names every Flask-JWT-Extended setting, every public function,
 * decorator and loader of Flask-JWT-Extended and Flask-Login, every Flask-Login signal, and every
 * divergence the suite asserts. The names are read from the installed packages themselves.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { FLASK_JWT_DEFAULTS } from '../../src/flask.js'
import { DIVERGENCES } from './divergences.js'
import { ROOT, requireFlask } from './venv.js'

const flask = await requireFlask()
const guide = readFileSync(join(ROOT, 'docs/migrating-from-flask.md'), 'utf8')
const named = (name: string) =>
  guide.includes(`\`${name}`) || guide.includes(`${name}\``) || guide.includes(`@jwt.${name}`)

describe('docs/migrating-from-flask.md', () => {
  it('names every Flask-JWT-Extended setting', () => {
    expect(Object.keys(FLASK_JWT_DEFAULTS).filter((key) => !guide.includes(`\`${key}\``))).toEqual([])
  })

  it('lists every divergence, with its id', () => {
    expect(Object.keys(DIVERGENCES).filter((id) => !guide.includes(`| \`${id}\``))).toEqual([])
  })

  it.skipIf(flask.skip)('names every public name of Flask-JWT-Extended and Flask-Login', async () => {
    const script = `
import types, flask_jwt_extended as f, flask_login as l, flask_login.signals as s
names = [n for n in dir(f) if not n.startswith('_') and not isinstance(getattr(f, n), types.ModuleType)]
names += [n for n in dir(f.JWTManager) if n.endswith('_loader')]
names += [n for n in dir(s) if not n.startswith('_') and n != 'Namespace']
names += [n for n in l.__all__ if n[0].islower() and not n.startswith('_')]
names += [n for n in dir(l.LoginManager) if n.endswith(('_loader', '_handler'))]
names += ['UserMixin', 'AnonymousUserMixin']
print('\\n'.join(sorted(set(names))))
`
    const { stdout } = await promisify(execFile)(flask.python, ['-c', script])
    const names = stdout.trim().split('\n')
    expect(names.length).toBeGreaterThan(50)
    expect(names.filter((name) => !named(name))).toEqual([])
  })
})

// Express 4 installed under another name; the test casts it to the shape it uses.
declare module 'express4' {
  const express: unknown
  export default express
}

// The one shape of every error verses-sync throws: a code a program can branch on
// and a message a person can act on.

/** An Error with a machine-readable `code`; subclasses name the room it comes from. */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A model: its timeline, Age vs Performance, drift, shadow and canary, events (issue 17, point 2). */
export function ModelPage({ name }: { name: string }) {
  return (
    <section>
      <h1>{name}</h1>
    </section>
  );
}

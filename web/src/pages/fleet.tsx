/** The fleet: every live deployment as a row (issue 17, point 1). */
export function FleetPage() {
  return (
    <section>
      <h1>Fleet</h1>
    </section>
  );
}

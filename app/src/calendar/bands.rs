//! The time grid's bands: jobs sit in bands of three hours by start, and the bands outside the
//! opening hours are drawn after the page is interactive, nearest the opening hours first.

/// A time-grid column holds its jobs in bands of three hours (by start).
pub(super) const BAND_HOURS: f64 = 3.0;

/// The hours a week or day opens on: it is scrolled to 07:00 and about nine hours show. On a
/// server-rendered page the bands wholly outside them (`data-later`) are drawn in the frames just
/// after the page is interactive, nearest first: with 500 jobs in a week, drawing all of them
/// before the first paint was about half of the page's load (see docs/calendar.md).
pub(super) const OPENING_HOURS: (f64, f64) = (6.0, 18.0);

/// How many bands lie between band `row` of a time grid and its opening hours (0: next to them
/// or within).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // the browser draws by it
pub(super) fn bands_away(row: usize) -> usize {
    let (opening, closing) = OPENING_HOURS;
    let (from, until) = (row as f64 * BAND_HOURS, (row + 1) as f64 * BAND_HOURS);
    ((opening - until).max(from - closing).max(0.0) / BAND_HOURS).ceil() as usize
}

#[cfg(test)]
mod tests {
    use super::bands_away;

    #[test]
    fn later_bands_are_drawn_nearest_the_opening_hours_first() {
        // Three-hour bands; the grid opens on 06:00–18:00 (bands 2 to 5).
        let away: Vec<usize> = (0..8).map(bands_away).collect();
        assert_eq!(away, [1, 0, 0, 0, 0, 0, 0, 1]);
    }
}

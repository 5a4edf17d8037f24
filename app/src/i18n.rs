//! English and French. The English text is the key: `t("Calendar")` is "Calendar" or
//! "Calendrier". The page's locale is the signed-in user's (`users.locale`), else the browser's
//! `Accept-Language`; the server writes it on `<html lang>`, where the browser reads it back when
//! it hydrates, so both sides render the same words.

use leptos::prelude::*;

/// A language uHub speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    Fr,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Fr];

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
        }
    }

    /// The language's own name, as a language menu shows it.
    pub fn name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Fr => "Français",
        }
    }

    pub fn parse(code: &str) -> Option<Locale> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "fr" => Some(Locale::Fr),
            _ => None,
        }
    }

    /// The best of our languages for an `Accept-Language` header (q-values honoured), English
    /// when none is wanted.
    pub fn from_accept_language(header: &str) -> Locale {
        header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let locale = Locale::parse(pieces.next()?)?;
                let quality = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (quality > 0.0).then_some((locale, quality))
            })
            // The first of the highest quality wins (max_by keeps the last of equals).
            .rev()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(locale, _)| locale)
            .unwrap_or_default()
    }

    /// `english` in this language; English when a translation is missing (a test makes sure
    /// none is).
    pub fn t(self, english: &'static str) -> &'static str {
        match self {
            Locale::En => english,
            Locale::Fr => french(english).unwrap_or(english),
        }
    }

    /// `t` with `{name}` placeholders filled in.
    pub fn tf(self, english: &'static str, values: &[(&str, &str)]) -> String {
        let mut text = self.t(english).to_owned();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

/// The locale of the page being rendered (see the module's comment).
pub fn use_locale() -> Locale {
    use_context::<Locale>().unwrap_or_default()
}

/// `english` in the page's language.
pub fn t(english: &'static str) -> &'static str {
    use_locale().t(english)
}

/// `english` in the page's language, `{name}` placeholders filled in.
pub fn tf(english: &'static str, values: &[(&str, &str)]) -> String {
    use_locale().tf(english, values)
}

/// The locale of this request: the signed-in user's, else `Accept-Language`.
#[cfg(feature = "ssr")]
pub fn request_locale() -> Locale {
    if let Some(user) = crate::server::signed_in_user() {
        if let Some(locale) = Locale::parse(&user.locale) {
            return locale;
        }
    }
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok())
                .map(Locale::from_accept_language)
        })
        .unwrap_or_default()
}

/// Puts the page's locale in context: from the request on the server, from `<html lang>` (which
/// the server wrote) in the browser.
pub fn provide_locale() {
    #[cfg(feature = "ssr")]
    let locale = request_locale();
    #[cfg(not(feature = "ssr"))]
    let locale = document_locale();
    provide_context(locale);
}

#[cfg(not(feature = "ssr"))]
fn document_locale() -> Locale {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|root| root.get_attribute("lang"))
            .and_then(|lang| Locale::parse(&lang))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    Locale::En
}

/// The French of every UI string, keyed by its English.
fn french(english: &str) -> Option<&'static str> {
    Some(match english {
        // FRENCH-TABLE-START
        "Users" => "Utilisateurs",
        "Teams" => "Équipes",
        "Audit log" => "Journal d’audit",
        "Settings" => "Réglages",
        "Admin" => "Administration",
        "People, teams, the audit trail and how uHub runs." => "Les personnes, les équipes, la piste d’audit et la configuration d’uHub.",
        "Name" => "Nom",
        "Username" => "Identifiant",
        "Role" => "Rôle",
        "Email" => "E-mail",
        "Status" => "Statut",
        "active" => "actif",
        "deactivated" => "désactivé",
        "Users are created, changed and deactivated through the API (/api/v1/users); see the API reference." => "Les utilisateurs se créent, se modifient et se désactivent par l’API (/api/v1/users) ; voir la référence de l’API.",
        "The users could not be loaded" => "Impossible de charger les utilisateurs",
        "No team yet." => "Aucune équipe pour l’instant.",
        "The teams could not be loaded" => "Impossible de charger les équipes",
        "Action" => "Action",
        "Filter" => "Filtrer",
        "The audit log could not be loaded" => "Impossible de charger le journal d’audit",
        "When" => "Quand",
        "Who" => "Qui",
        "Target" => "Cible",
        "Outcome" => "Résultat",
        "Load older entries" => "Charger les entrées plus anciennes",
        "Time zone (UHUB_TIMEZONE)" => "Fuseau horaire (UHUB_TIMEZONE)",
        "Host sampling (UHUB_METRICS_INTERVAL)" => "Échantillonnage de l’hôte (UHUB_METRICS_INTERVAL)",
        "{n} s" => "{n} s",
        "Public address (UHUB_PUBLIC_URL)" => "Adresse publique (UHUB_PUBLIC_URL)",
        "Settings come from the environment at start; change them there and restart uHub." => "Les réglages viennent de l’environnement au démarrage ; modifiez-les là puis redémarrez uHub.",
        "The settings could not be loaded" => "Impossible de charger les réglages",
        "Profile" => "Profil",
        "How you appear in uHub, and how uHub looks to you." => "Comment vous apparaissez dans uHub, et comment uHub vous apparaît.",
        "Your profile could not be loaded" => "Impossible de charger votre profil",
        "Display name" => "Nom affiché",
        "Theme" => "Thème",
        "Dark" => "Sombre",
        "Light" => "Clair",
        "Same as the system" => "Comme le système",
        "Language" => "Langue",
        "Save" => "Enregistrer",
        "Security" => "Sécurité",
        "Change your password regularly; sessions end when you do." => "Changez régulièrement votre mot de passe ; vos sessions se terminent alors.",
        "Change my password" => "Changer mon mot de passe",
        "All day" => "Toute la journée",
        "Dashboard" => "Tableau de bord",
        "Today in operations" => "Les opérations du jour",
        "What runs, what waits for you, and what is on fire." => "Ce qui tourne, ce qui vous attend, et ce qui brûle.",
        "Open the calendar" => "Ouvrir le calendrier",
        "The dashboard could not be loaded" => "Impossible de charger le tableau de bord",
        "Jobs today" => "Tâches du jour",
        "Runs under way" => "Exécutions en cours",
        "Waiting for approval" => "En attente d’approbation",
        "Open incidents" => "Incidents ouverts",
        "Today" => "Aujourd’hui",
        "Nothing planned today." => "Rien de prévu aujourd’hui.",
        "Plan a job" => "Planifier une tâche",
        "No run is under way." => "Aucune exécution en cours.",
        "Nothing waits for an approval." => "Rien n’attend d’approbation.",
        "run #{id} in {env}" => "exécution n°{id} en {env}",
        "Move of job #{id}" => "Déplacement de la tâche n°{id}",
        "Conflicts" => "Conflits",
        "No conflict in the next 31 days." => "Aucun conflit dans les 31 prochains jours.",
        "with {others}" => "avec {others}",
        "No open incident. Calm seas." => "Aucun incident ouvert. Mer calme.",
        "Server health" => "Santé du serveur",
        "CPU" => "CPU",
        "Memory" => "Mémoire",
        "Fullest disk" => "Disque le plus plein",
        "Open the server view" => "Ouvrir la vue serveur",
        "Next 7 days" => "7 prochains jours",
        "Nothing planned this week." => "Rien de prévu cette semaine.",
        "Calendar" => "Calendrier",
        "{n} jobs" => "{n} tâches",
        "…" => "…",
        "open" => "ouvert",
        "investigating" => "en analyse",
        "mitigated" => "atténué",
        "resolved" => "résolu",
        "closed" => "clos",
        "Incidents" => "Incidents",
        "What went wrong, how bad, where it stands." => "Ce qui a mal tourné, à quel point, où on en est.",
        "Open an incident" => "Ouvrir un incident",
        "Filter by status" => "Filtrer par statut",
        "All" => "Tous",
        "No incident here. When something breaks, open one so the team can follow it." => "Aucun incident ici. Quand quelque chose casse, ouvrez-en un pour que l’équipe le suive.",
        "The incidents could not be loaded" => "Impossible de charger les incidents",
        "Severity" => "Gravité",
        "Title" => "Titre",
        "Detected" => "Détecté",
        "Project" => "Projet",
        "The platform itself" => "La plateforme elle-même",
        "What is happening" => "Ce qui se passe",
        "Cancel" => "Annuler",
        "Open it" => "L’ouvrir",
        "Incident" => "Incident",
        "The incident could not be loaded" => "Impossible de charger l’incident",
        "detected {at}" => "détecté le {at}",
        "Facts" => "Faits",
        "Job" => "Tâche",
        "Owner" => "Responsable",
        "Resolved" => "Résolu",
        "Move it on" => "Faire avancer",
        "The host around this incident" => "L’hôte autour de cet incident",
        "Skip to content" => "Aller au contenu",
        "Main navigation" => "Navigation principale",
        "API reference" => "Référence de l’API",
        "Menu" => "Menu",
        "Search or run a command…" => "Chercher ou lancer une commande…",
        "Account" => "Compte",
        "Log out" => "Se déconnecter",
        "Not found" => "Introuvable",
        "Nothing lives at this address" => "Rien n’existe à cette adresse",
        "The page may have moved, or the link was mistyped." => "La page a peut-être changé d’adresse, ou le lien est mal saisi.",
        "Back to the dashboard" => "Retour au tableau de bord",
        "Change the language" => "Changer de langue",
        "Which job? Type its name…" => "Quelle tâche ? Tapez son nom…",
        "Search projects, jobs, incidents, pages, actions…" => "Chercher projets, tâches, incidents, pages, actions…",
        "Command palette" => "Palette de commandes",
        "Search" => "Recherche",
        "Results" => "Résultats",
        "Type the name of the job to launch." => "Tapez le nom de la tâche à lancer.",
        "Nothing matches. Try fewer letters." => "Aucun résultat. Essayez avec moins de lettres.",
        "to move" => "pour naviguer",
        "to open" => "pour ouvrir",
        "to close" => "pour fermer",
        "Choose a project." => "Choisissez un projet.",
        "New job" => "Nouvelle tâche",
        "Type" => "Type",
        "Environment" => "Environnement",
        "None" => "Aucun",
        "Start" => "Début",
        "Back" => "Retour",
        "Creating…" => "Création…",
        "Create the job" => "Créer la tâche",
        "Git repositories" => "Dépôts Git",
        "Ansible inventories" => "Inventaires Ansible",
        "Terraform plans" => "Plans Terraform",
        "Kubernetes clusters" => "Clusters Kubernetes",
        "Overview" => "Vue d’ensemble",
        "Environments" => "Environnements",
        "Jobs" => "Tâches",
        "Backlog" => "Backlog",
        "Repos & infrastructure" => "Dépôts et infrastructure",
        "Activity" => "Activité",
        "Projects" => "Projets",
        "Edit" => "Modifier",
        "Recent runs" => "Exécutions récentes",
        "Backlog items" => "Éléments du backlog",
        "Execution backend" => "Moteur d’exécution",
        "Created" => "Créé",
        "Coming up" => "À venir",
        "Nothing planned." => "Rien de prévu.",
        "Production" => "Production",
        "yes — guardrails apply" => "oui — garde-fous actifs",
        "no" => "non",
        "No job yet. Press Ctrl+K and choose “New job”." => "Aucune tâche pour l’instant. Appuyez sur Ctrl+K et choisissez « Nouvelle tâche ».",
        "Planned" => "Prévu",
        "The backlog is empty: no task, no milestone." => "Le backlog est vide : aucune tâche, aucun jalon.",
        "Kind" => "Genre",
        "Due" => "Échéance",
        "None linked yet." => "Rien de lié pour l’instant.",
        "No incident on this project." => "Aucun incident sur ce projet.",
        "Nothing has happened yet." => "Rien ne s’est encore passé.",
        "({status})" => "({status})",
        "Everything the team plans and runs, grouped by project." => "Tout ce que l’équipe planifie et exécute, regroupé par projet.",
        "Filter projects" => "Filtrer les projets",
        "Filter by name, owner or environment" => "Filtrer par nom, responsable ou environnement",
        "New project" => "Nouveau projet",
        "No project yet" => "Aucun projet pour l’instant",
        "Create the first one with “New project”, or start uHub with UHUB_SEED_DEMO=true to load the demo projects." => "Créez le premier avec « Nouveau projet », ou démarrez uHub avec UHUB_SEED_DEMO=true pour charger les projets de démonstration.",
        "{n} projects" => "{n} projets",
        "{shown} of {n} projects" => "{shown} projets sur {n}",
        "No project matches “{filter}”." => "Aucun projet ne correspond à « {filter} ».",
        "Next job {at}" => "Prochaine tâche {at}",
        "Nothing planned" => "Rien de prévu",
        "1 job" => "1 tâche",
        "Schedule" => "Planning",
        "Loading projects" => "Chargement des projets",
        "The projects could not be loaded" => "Impossible de charger les projets",
        "Edit the project" => "Modifier le projet",
        "Description" => "Description",
        "Colour" => "Couleur",
        "Environments (comma-separated)" => "Environnements (séparés par des virgules)",
        "Create the project" => "Créer le projet",
        "The project could not be loaded" => "Impossible de charger le projet",
        "Host around this run" => "L’hôte autour de cette exécution",
        "Loading" => "Chargement",
        "Sections" => "Sections",
        "Server" => "Serveur",
        "New incident" => "Nouvel incident",
        "Launch a job…" => "Lancer une tâche…",
        "Go to the calendar" => "Aller au calendrier",
        "Colour the calendar by project" => "Colorer le calendrier par projet",
        "Colour the calendar by type" => "Colorer le calendrier par type",
        "Colour the calendar by status" => "Colorer le calendrier par statut",
        "Switch to the dark theme" => "Passer au thème sombre",
        "Switch to the light theme" => "Passer au thème clair",
        "Pages" => "Pages",
        "Actions" => "Actions",
        "Recent" => "Récents",
        "Invalid username or password." => "Identifiant ou mot de passe incorrect.",
        "Too many failed attempts. Try again in {seconds} seconds." => "Trop de tentatives échouées. Réessayez dans {seconds} secondes.",
        "uHub could not sign you in right now; try again shortly." => "uHub ne peut pas vous connecter pour le moment ; réessayez sous peu.",
        "Log in" => "Se connecter",
        "Plan, run and trace your operations." => "Planifiez, exécutez et tracez vos opérations.",
        "Password" => "Mot de passe",
        "The two new passwords differ." => "Les deux nouveaux mots de passe diffèrent.",
        "The current password is not right." => "Le mot de passe actuel est incorrect.",
        "The new password must have at least {n} characters, differ from the current one, and be neither the username nor the initial password." => "Le nouveau mot de passe doit compter au moins {n} caractères, différer de l’actuel, et n’être ni l’identifiant ni le mot de passe initial.",
        "uHub could not change the password right now; try again shortly." => "uHub ne peut pas changer le mot de passe pour le moment ; réessayez sous peu.",
        "Change password" => "Changer le mot de passe",
        "Choose a new password" => "Choisissez un nouveau mot de passe",
        "Before going on, replace the password you were given with one only you know." => "Avant de continuer, remplacez le mot de passe qui vous a été donné par un que vous seul connaissez.",
        "Current password" => "Mot de passe actuel",
        "New password" => "Nouveau mot de passe",
        "New password, again" => "Confirmez le nouveau mot de passe",
        "running" => "en cours",
        "The job could not be loaded" => "Impossible de charger la tâche",
        "no action: this job cannot be run" => "aucune action : cette tâche ne peut pas être exécutée",
        "no environment" => "aucun environnement",
        "planned {at}" => "prévue le {at}",
        "Launch" => "Lancer",
        "{name} (production)" => "{name} (production)",
        "Backend" => "Moteur",
        "Launching…" => "Lancement…",
        "Production runs wait for the approval of an admin or the project's owner (never the person who asked)." => "Les exécutions en production attendent l’approbation d’un admin ou du responsable du projet (jamais de la personne qui l’a demandée).",
        "In the queue" => "Dans la file",
        "Choose a backend" => "Choisir un moteur",
        "#{position}: {reason}" => "n° {position} : {reason}",
        "Waiting for the webhook's callback until" => "Attend le rappel du webhook jusqu’au",
        "What will run if approved" => "Ce qui s’exécutera si c’est approuvé",
        "What runs" => "Ce qui s’exécute",
        "SHA-256 of the action, backend and environment, fixed at launch" => "SHA-256 de l’action, du moteur et de l’environnement, fixé au lancement",
        "Too many failed attempts. Try again in a few seconds." => "Trop de tentatives échouées. Réessayez dans quelques secondes.",
        "Runs" => "Exécutions",
        "Never run yet." => "Jamais exécutée pour l’instant.",
        "Run" => "Exécution",
        "By" => "Par",
        "Started" => "Démarrage",
        "Duration" => "Durée",
        "The run could not be loaded" => "Impossible de charger l’exécution",
        "Run #{id}" => "Exécution n°{id}",
        "Comment (optional)" => "Commentaire (facultatif)",
        "Approve" => "Approuver",
        "Reject" => "Rejeter",
        "Launched by" => "Lancée par",
        "Finished" => "Fin",
        "Exit code" => "Code de sortie",
        "Reason" => "Motif",
        "Log" => "Journal",
        "Search the log" => "Chercher dans le journal",
        "{n} lines" => "{n} lignes",
        "Jump to the end" => "Aller à la fin",
        "1 h" => "1 h",
        "6 h" => "6 h",
        "24 h" => "24 h",
        "7 d" => "7 j",
        "30 d" => "30 j",
        "History window" => "Période de l’historique",
        "The server view could not be loaded" => "Impossible de charger la vue serveur",
        "{label}: {percent}% used" => "{label} : {percent} % utilisé",
        "No reading stored for this window yet." => "Aucune mesure enregistrée pour cette période pour l’instant.",
        "{title}, from {from} to {to}" => "{title}, du {from} au {to}",
        "Read at {at} · every {n} s · thresholds {warn}% / {alert}%" => "Mesuré à {at} · toutes les {n} s · seuils {warn} % / {alert} %",
        "{n} cores · load {one} {five} {fifteen}" => "{n} cœurs · charge {one} {five} {fifteen}",
        "{used} of {total}" => "{used} sur {total}",
        "Swap" => "Swap",
        "no swap" => "pas de swap",
        "{free} free of {total} · {fs}" => "{free} libres sur {total} · {fs}",
        "Cores" => "Cœurs",
        "Per core" => "Par cœur",
        "CPU and memory" => "CPU et mémoire",
        "Disk" => "Disque",
        "Network" => "Réseau",
        "Interface" => "Interface",
        "Received" => "Reçu",
        "Sent" => "Envoyé",
        "Total received" => "Total reçu",
        "Total sent" => "Total envoyé",
        "Every route of" => "Chaque route de",
        "generated from the server's code. The machine-readable document is" => "générée à partir du code du serveur. Le document lisible par machine est",
        "Filter endpoints" => "Filtrer les points d’accès",
        "Filter by path, method or words" => "Filtrer par chemin, méthode ou mots",
        "Loading the API reference" => "Chargement de la référence de l’API",
        "The API reference could not be loaded" => "Impossible de charger la référence de l’API",
        "{n} endpoints · version {version}" => "{n} points d’accès · version {version}",
        "{shown} of {n} endpoints" => "{shown} points d’accès sur {n}",
        "No endpoint matches “{filter}”." => "Aucun point d’accès ne correspond à « {filter} ».",
        "Schemas" => "Schémas",
        "required" => "obligatoire",
        "public" => "public",
        "Parameters" => "Paramètres",
        "Body" => "Corps",
        "as" => "au format",
        "Answers" => "Réponses",
        "Fields" => "Champs",
        "Month" => "Mois",
        "Week" => "Semaine",
        "Day" => "Jour",
        "Agenda" => "Agenda",
        "The calendar could not be loaded" => "Impossible de charger le calendrier",
        "all day" => "toute la journée",
        "Someone else changed this job meanwhile: the calendar was reloaded, try again." => "Quelqu’un d’autre a modifié cette tâche entre-temps : le calendrier a été rechargé, réessayez.",
        "Not moved: {message}. Move it alone (nothing else changed) to request approval." => "Pas déplacée : {message}. Déplacez-la seule (sans rien changer d’autre) pour demander une approbation.",
        "Not moved: {message}" => "Pas déplacée : {message}",
        "Your session has ended; log in again." => "Votre session a pris fin ; reconnectez-vous.",
        "Moving “{title}”…" => "Déplacement de « {title} »…",
        "Move of “{title}” to {at} requested: a production job moves once a projets or admin user approves." => "Déplacement de « {title} » au {at} demandé : une tâche de production ne bouge qu’une fois approuvée par un utilisateur projets ou admin.",
        "“{title}” moved to {at}." => "Tâche « {title} » déplacée au {at}.",
        "Times in" => "Heures du fuseau",
        "drag a job to move it, drag its lower edge to resize; with the keyboard: arrows move, Shift+↑↓ resize, Enter confirms, Esc cancels." => "faites glisser une tâche pour la déplacer, son bord inférieur pour la redimensionner ; au clavier : les flèches déplacent, Maj+↑↓ redimensionne, Entrée confirme, Échap annule.",
        "Move of “{title}” approved: the job moved." => "Déplacement de « {title} » approuvé : la tâche a été déplacée.",
        "Move of “{title}” rejected: the job stays." => "Déplacement de « {title} » rejeté : la tâche reste en place.",
        "Move request for “{title}” withdrawn." => "Demande de déplacement de « {title} » retirée.",
        "“{title}” changed after the request: the request no longer applies." => "« {title} » a changé après la demande : la demande ne s’applique plus.",
        "Not done: {message}" => "Non effectué : {message}",
        "Production moves waiting for approval" => "Déplacements en production en attente d’approbation",
        "Your move requests" => "Vos demandes de déplacement",
        "asked by {user}" => "demandé par {user}",
        "a former user" => "un ancien utilisateur",
        "Withdraw" => "Retirer",
        "Previous" => "Précédent",
        "Next" => "Suivant",
        "Go to date" => "Aller à la date",
        "View" => "Vue",
        "Subscribe" => "S’abonner",
        "Legend" => "Légende",
        "conflict" => "conflit",
        "Move to {at} requested by {by}, waiting for approval" => "Déplacement au {at} demandé par {by}, en attente d’approbation",
        "Resolve the conflict" => "Résoudre le conflit",
        "Conflicts with" => "En conflit avec",
        "job #{id}" => "tâche n°{id}",
        "Mon" => "lun.",
        "Tue" => "mar.",
        "Wed" => "mer.",
        "Thu" => "jeu.",
        "Fri" => "ven.",
        "Sat" => "sam.",
        "Sun" => "dim.",
        "+{n} more" => "+{n} autres",
        "Show less" => "Afficher moins",
        "Nothing planned this month" => "Rien de prévu ce mois-ci",
        "Jobs created in a project appear here on their planned day." => "Les tâches créées dans un projet apparaissent ici à leur date prévue.",
        "Conflicts with {names}" => "En conflit avec {names}",
        "Resolve" => "Résoudre",
        "“{title}” overlaps {others}." => "« {title} » chevauche {others}.",
        "Free slots of the same length in the same environment:" => "Créneaux libres de même durée dans le même environnement :",
        "Looking for free slots…" => "Recherche de créneaux libres…",
        "No free slot in the next 60 days." => "Aucun créneau libre dans les 60 prochains jours.",
        "Close" => "Fermer",
        "Subscribe in a calendar application" => "S’abonner depuis une application d’agenda",
        "A private, read-only iCal address for Google Calendar, Outlook or Thunderbird. Anyone holding it sees the plan: revoke it when it is no longer needed." => "Une adresse iCal privée, en lecture seule, pour Google Agenda, Outlook ou Thunderbird. Quiconque la détient voit le planning : révoquez-la quand elle n’est plus utile.",
        "Mine (jobs I own)" => "Les miennes (tâches dont je suis responsable)",
        "Project {name}" => "Projet {name}",
        "Create address" => "Créer une adresse",
        "Copy this address now: it will not be shown again." => "Copiez cette adresse maintenant : elle ne sera plus affichée.",
        "Loading your feeds…" => "Chargement de vos flux…",
        "No live feed yet." => "Aucun flux actif pour l’instant.",
        "My jobs" => "Mes tâches",
        "last read {at}" => "dernière lecture le {at}",
        "never read yet" => "jamais lu pour l’instant",
        "Revoke" => "Révoquer",
        // FRENCH-TABLE-END
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(
            Locale::from_accept_language("fr-FR,fr;q=0.9,en;q=0.8"),
            Locale::Fr
        );
        assert_eq!(
            Locale::from_accept_language("de-DE,de;q=0.9,fr;q=0.5"),
            Locale::Fr
        );
        assert_eq!(Locale::from_accept_language("en-US,fr;q=0.9"), Locale::En);
        assert_eq!(
            Locale::from_accept_language("fr;q=0.2,en;q=0.8"),
            Locale::En
        );
        assert_eq!(Locale::from_accept_language("de"), Locale::En);
        assert_eq!(Locale::from_accept_language("fr;q=0"), Locale::En);
        assert_eq!(Locale::from_accept_language(""), Locale::En);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(Locale::En.tf("{n} jobs", &[("n", "3")]), "3 jobs");
        assert_eq!(Locale::Fr.tf("{n} jobs", &[("n", "3")]), "3 tâches");
    }

    /// Every `t("…")` / `tf("…"` in the application's sources has its French: a new string
    /// without a translation fails here, not in front of a French-speaking user.
    #[test]
    fn every_string_of_the_ui_has_its_french() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut missing = Vec::new();
        let mut seen = 0;
        let entries = std::fs::read_dir(dir).expect("app/src is readable");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("a source file is readable");
            for key in translated_literals(&source) {
                seen += 1;
                if french(&key).is_none() {
                    missing.push(format!("{}: {key:?}", path.display()));
                }
            }
        }
        assert!(seen > 100, "the scan found the UI's strings ({seen})");
        assert!(missing.is_empty(), "no French for:\n{}", missing.join("\n"));
    }

    /// The string literals passed to `t(`, `tf(`, `.t(` and `.tf(` in `source` (rustfmt may put
    /// the literal on the next line).
    fn translated_literals(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        // Spelled apart so this line is not a call the scan would find.
        for marker in [concat!("t", "("), concat!("tf", "(")] {
            let mut rest = source;
            while let Some(at) = rest.find(marker) {
                let before = rest[..at].chars().next_back();
                rest = &rest[at + marker.len()..];
                // `t(` must be a call of ours, not the end of another name (`split(`, `get(`).
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let Some(literal_start) = rest.trim_start().strip_prefix('"') else {
                    continue;
                };
                rest = literal_start;
                let mut literal = String::new();
                let mut chars = rest.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                literal.push(match escaped {
                                    'n' => '\n',
                                    other => other,
                                });
                            }
                        }
                        '"' => break,
                        other => literal.push(other),
                    }
                }
                found.push(literal);
            }
        }
        found
    }
}
